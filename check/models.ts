/**
 * Built-in models: a key-value register map and a fenced lock.
 */
import type { Model, Operation } from './model.js';

/** KV operations: put / get / delete on string values. */
export type KvInput =
  | { op: 'put'; key: string; value: string }
  | { op: 'get'; key: string }
  | { op: 'delete'; key: string };

/** KV outputs: a get returns the value (null when absent); put and delete return `{}`. */
export type KvOutput = { value: string | null } | Record<string, never>;

function byKey<T extends { key?: string; lock?: string }, O>(field: 'key' | 'lock') {
  return (history: readonly Operation<T, O>[]): Operation<T, O>[][] => {
    const m = new Map<string, Operation<T, O>[]>();
    for (const op of history) {
      const k = String((op.input as Record<string, unknown>)[field]);
      const list = m.get(k);
      if (list) list.push(op);
      else m.set(k, [op]);
    }
    return [...m.values()];
  };
}

/**
 * Per-key registers (partitioned by key; each partition's state is the key's value or null).
 * An indeterminate put/delete may have applied; an indeterminate get constrains nothing.
 */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case 'put':
        return [true, input.value];
      case 'delete':
        return [true, null];
      default:
        if (output === undefined) return [true, state];
        return [(output as { value: string | null }).value === state, state];
    }
  },
  partition: byKey<KvInput, KvOutput>('key'),
  hash: (s) => (s === null ? 'n' : `s${s}`), // no value can hash like "absent"
  describe(input, output) {
    const out =
      output === undefined
        ? ' -> ?'
        : input.op === 'get'
          ? ` -> ${JSON.stringify((output as { value: string | null }).value)}`
          : '';
    return input.op === 'put'
      ? `put(${input.key}, ${JSON.stringify(input.value)})${out}`
      : `${input.op}(${input.key})${out}`;
  },
};

/** Fenced-lock operations, per lock name. */
export type LockInput =
  | { op: 'acquire'; lock: string; client: string }
  | { op: 'release'; lock: string; client: string; token: bigint };

/** Acquire returns the fence token; release says whether it released. */
export type LockOutput = { token: bigint } | { ok: boolean };

/** State of one lock: the holder and its token, and the highest token granted. */
export interface LockModelState {
  holder: string | null;
  token: bigint;
  last: bigint;
}

/**
 * A fenced lock (partitioned by lock name). Acquire: the lock must be free (or, with
 * `leases: true`, the previous holder may have silently lost it to lease expiry) and the token must
 * exceed every earlier one. Release succeeds exactly when the client holds the lock with that token
 * (with leases it may also fail while held: the lease ran out unseen).
 * An indeterminate acquire takes the lock with an unknown token.
 */
export function fencedLockModel(
  options: { leases?: boolean } = {},
): Model<LockModelState, LockInput, LockOutput> {
  return {
    init: () => ({ holder: null, token: 0n, last: 0n }),
    step(s, input, output) {
      if (input.op === 'acquire') {
        if (s.holder !== null && !options.leases) return [false, s];
        if (output === undefined) return [true, { holder: input.client, token: -1n, last: s.last }];
        const t = (output as { token: bigint }).token;
        if (t <= s.last) return [false, s];
        return [true, { holder: input.client, token: t, last: t }];
      }
      // An unknown token (an indeterminate acquire) exceeds every token granted before it.
      const unknown = s.holder === input.client && s.token === -1n;
      const holds =
        s.holder === input.client && (s.token === input.token || (unknown && input.token > s.last));
      if (output === undefined)
        return [true, holds ? { holder: null, token: 0n, last: maxBig(s.last, input.token) } : s];
      const ok = (output as { ok: boolean }).ok;
      // With leases a failed release is always possible: the lease may have run out unseen.
      if (!ok && options.leases) return [true, holds ? { holder: null, token: 0n, last: s.last } : s];
      // A failed release may just have named a token other than the unknown one.
      if (!ok && unknown) return [true, s];
      if (ok !== holds) return [false, s];
      return [true, holds ? { holder: null, token: 0n, last: maxBig(s.last, input.token) } : s];
    },
    partition: byKey<LockInput, LockOutput>('lock'),
    hash: (s) => `${s.holder === null ? 'n' : `s${s.holder}`}|${s.token}|${s.last}`,
    describe(input, output) {
      if (input.op === 'acquire')
        return `${input.client} acquire(${input.lock}) -> ${output === undefined ? '?' : `token ${(output as { token: bigint }).token}`}`;
      return `${input.client} release(${input.lock}, ${input.token}) -> ${output === undefined ? '?' : (output as { ok: boolean }).ok}`;
    },
  };
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
