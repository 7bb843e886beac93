/**
 * Deterministic merge functions for the `merge_function` conflict strategy.
 *
 * A merge receives the concurrent live values already stored (in storage order) and the incoming
 * value, and returns the merged value. It must be a pure function of its arguments (no clocks,
 * randomness or I/O) and registered identically on every member; throwing rejects the write with
 * `MERGE_FAILED` and changes nothing.
 *
 * Built-ins (values are UTF-8 text):
 * - `counter`: a grow-only counter; each value is a JSON object `{ actor: count }` and the merge
 *   takes the per-actor maximum (the counter's value is the sum).
 * - `set-union`: each value is a JSON array of strings; the merge is the sorted union.
 * - `max`: each value is a decimal number; the merge is the largest.
 */

/** A merge function (see module doc). */
export type MergeFunction = (existing: readonly Uint8Array[], incoming: Uint8Array) => Uint8Array;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function json(bytes: Uint8Array): unknown {
  return JSON.parse(dec.decode(bytes));
}

function counter(existing: readonly Uint8Array[], incoming: Uint8Array): Uint8Array {
  const out = new Map<string, number>();
  for (const v of [...existing, incoming]) {
    const obj = json(v);
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
      throw new Error('counter value must be a JSON object');
    for (const [k, n] of Object.entries(obj as Record<string, unknown>)) {
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
        throw new Error(`counter entry ${k} must be a non-negative integer`);
      out.set(k, Math.max(out.get(k) ?? 0, n));
    }
  }
  const sorted = [...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return enc.encode(JSON.stringify(Object.fromEntries(sorted)));
}

function setUnion(existing: readonly Uint8Array[], incoming: Uint8Array): Uint8Array {
  const out = new Set<string>();
  for (const v of [...existing, incoming]) {
    const arr = json(v);
    if (!Array.isArray(arr) || !arr.every((x) => typeof x === 'string'))
      throw new Error('set-union value must be a JSON array of strings');
    for (const x of arr as string[]) out.add(x);
  }
  return enc.encode(JSON.stringify([...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))));
}

function max(existing: readonly Uint8Array[], incoming: Uint8Array): Uint8Array {
  let best: { n: number; bytes: Uint8Array } | null = null;
  for (const v of [...existing, incoming]) {
    const text = dec.decode(v).trim();
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) throw new Error('max value must be a decimal number');
    if (best === null || n > best.n) best = { n, bytes: v };
  }
  return (best as { bytes: Uint8Array }).bytes;
}

/** The built-in merges by name. */
export const BUILTIN_MERGES: Readonly<Record<string, MergeFunction>> = Object.freeze({
  counter,
  'set-union': setUnion,
  max,
});
