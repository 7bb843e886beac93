/**
 * Joining byte parts into one buffer a slice at a time, for state machines that serialise a large
 * snapshot in steps (`StateMachine.snapshotSteps`): one allocation of the final size, and at most
 * `JOIN_STEP_BYTES` copied between two yields.
 */

/** Bytes copied per step by `joinParts`. */
export const JOIN_STEP_BYTES = 8 * 1024 * 1024;

/**
 * Runs `parts` to its end (yielding when it does), then copies what it returns into one buffer
 * after `prefix` bytes that `fill(out, partsBytes)` writes, yielding every `JOIN_STEP_BYTES`.
 */
export function* joinParts(
  parts: Iterator<void, Uint8Array[], void>,
  prefix = 0,
  fill: (out: Uint8Array, partsBytes: number) => void = () => undefined,
): Generator<void, Uint8Array, void> {
  let r = parts.next();
  while (!r.done) {
    yield;
    r = parts.next();
  }
  const list = r.value;
  let total = 0;
  for (const p of list) total += p.length;
  // Not zero-filled (every byte is written below), and never a slice of Node's shared pool.
  const b = Buffer.allocUnsafeSlow(prefix + total);
  const out = new Uint8Array(b.buffer, b.byteOffset, b.length);
  fill(out, total);
  let at = prefix;
  let sinceYield = 0;
  for (const p of list) {
    for (let from = 0; from < p.length; ) {
      const n = Math.min(p.length - from, JOIN_STEP_BYTES - sinceYield);
      out.set(p.subarray(from, from + n), at);
      at += n;
      from += n;
      sinceYield += n;
      if (sinceYield >= JOIN_STEP_BYTES) {
        sinceYield = 0;
        yield;
      }
    }
  }
  return out;
}

/** An iterator that is done at once with `parts` (for `joinParts` over parts already at hand). */
export function partsAtHand(parts: Uint8Array[]): Iterator<void, Uint8Array[], void> {
  return { next: () => ({ done: true, value: parts }) };
}
