/**
 * Histories and models for the linearizability checker.
 *
 * An operation is one client call: `call` and `ret` are times on one clock shared by the whole
 * history (e.g. the simulator's virtual time). `ret: null` means the outcome is indeterminate (the
 * call timed out after sending, or the client crashed): the operation may have taken effect at any
 * point after its call, or never, and its `output` is `undefined`. An operation known to have
 * failed without effect must be left out of the history.
 */

/** One client call in a history. */
export interface Operation<I, O> {
  /** Who issued it (a client or process id; used for the timeline). */
  process: string | number;
  input: I;
  /** The observed output; `undefined` when indeterminate. */
  output: O | undefined;
  /** Invocation time. */
  call: number;
  /** Response time, or null when indeterminate. */
  ret: number | null;
}

/**
 * A sequential specification. `step` is a pure function: given the state before the operation,
 * its input and its observed output (`undefined` when indeterminate: accept any output), it says
 * whether the output is possible and returns the state after.
 */
export interface Model<S, I, O> {
  init(): S;
  step(state: S, input: I, output: O | undefined): [ok: boolean, next: S];
  /** Splits a history into independent sub-histories (e.g. per key); each is checked alone. */
  partition?(history: readonly Operation<I, O>[]): Operation<I, O>[][];
  /** A string that is equal for equal states (state caching); default: a stable JSON encoding. */
  hash?(state: S): string;
  /** Short text for an operation in reports, e.g. `put(k, 1)` / `get(k) -> 1`. */
  describe?(input: I, output: O | undefined): string;
}

/** Stable JSON-like encoding (bigint, Map, Set, Uint8Array supported; object keys sorted). */
export function stableHash(v: unknown): string {
  if (v === undefined) return 'u';
  if (v === null) return 'n';
  switch (typeof v) {
    case 'bigint':
      return `${v}n`;
    case 'string':
      return JSON.stringify(v);
    case 'number':
    case 'boolean':
      return String(v);
    default:
      break;
  }
  if (v instanceof Uint8Array) return `b${Buffer.from(v).toString('hex')}`;
  // Objects without own keys that still carry state: each hashed by its content.
  if (v instanceof Date) return `D${v.getTime()}`;
  if (v instanceof ArrayBuffer) return `A${Buffer.from(v).toString('hex')}`;
  if (v instanceof DataView) return `V${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (Array.isArray(v)) return `[${v.map(stableHash).join(',')}]`;
  if (v instanceof Map)
    return `M{${[...v]
      .map(([k, x]) => `${stableHash(k)}:${stableHash(x)}`)
      .sort()
      .join(',')}}`;
  if (v instanceof Set) return `S{${[...v].map(stableHash).sort().join(',')}}`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableHash(o[k])}`)
    .join(',')}}`;
}
