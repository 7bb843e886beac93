/**
 * compares checkLinearizability against a brute-force checker (every order of the
 * completed operations plus every subset of the indeterminate ones) on random small histories.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkLinearizability,
  fencedLockModel,
  type KvInput,
  type KvOutput,
  kvModel,
  type LockInput,
  type LockOutput,
  type Model,
  type Operation,
} from '../../check/index.js';

/**
 * Exhaustive search, independent of the checker: tries every order of the operations (every subset
 * of the indeterminate ones taking effect), where a.ret < b.call orders a before b (equal times are
 * concurrent, as documented). With `key`, (placed set, state) pairs already explored are skipped,
 * for longer histories.
 */
function search<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], key?: (s: S) => string): boolean {
  const n = ops.length;
  const done = new Array<boolean>(n).fill(false);
  const seen = new Set<string>();
  const go = (state: S): boolean => {
    if (ops.every((o, i) => o.ret === null || done[i])) return true;
    if (key) {
      const k = `${done.map((d) => (d ? 1 : 0)).join('')}|${key(state)}`;
      if (seen.has(k)) return false;
      seen.add(k);
    }
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      const o = ops[i] as Operation<I, O>;
      // every completed op that returned before o was called must already be placed
      if (ops.some((a, j) => !done[j] && j !== i && a.ret !== null && a.ret < o.call)) continue;
      const [ok, ns] = model.step(state, o.input, o.output);
      if (!ok) continue;
      done[i] = true;
      const r = go(ns);
      done[i] = false;
      if (r) return true;
    }
    return false;
  };
  return go(model.init());
}

const brute = <S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[]) => search(model, ops);

const timing = fc
  .record({ call: fc.integer({ min: 0, max: 12 }), dur: fc.integer({ min: 0, max: 6 }), indet: fc.boolean() })
  .map((t) => ({ call: t.call, ret: t.indet && t.dur % 3 === 0 ? null : t.call + t.dur }));

const kvOp: fc.Arbitrary<Operation<KvInput, KvOutput>> = fc
  .tuple(
    fc.constantFrom('x', 'y'),
    fc.constantFrom('put', 'get', 'delete'),
    fc.constantFrom('1', '2'),
    fc.constantFrom<string | null>(null, '1', '2'),
    timing,
    fc.constantFrom('p', 'q', 'r'),
  )
  .map(([key, op, value, seen, t, process]) => {
    const input: KvInput = op === 'put' ? { op, key, value } : op === 'get' ? { op, key } : { op, key };
    const output: KvOutput | undefined = t.ret === null ? undefined : op === 'get' ? { value: seen } : {};
    return { process, input, output, call: t.call, ret: t.ret };
  });

const lockOp: fc.Arbitrary<Operation<LockInput, LockOutput>> = fc
  .tuple(
    fc.constantFrom('A', 'B'),
    fc.constantFrom('acquire', 'release'),
    fc.constantFrom(1n, 2n, 3n),
    fc.boolean(),
    timing,
  )
  .map(([client, op, token, ok, t]) => {
    const input: LockInput = op === 'acquire' ? { op, lock: 'L', client } : { op, lock: 'L', client, token };
    const output: LockOutput | undefined = t.ret === null ? undefined : op === 'acquire' ? { token } : { ok };
    return { process: client, input, output, call: t.call, ret: t.ret };
  });

/** An unpartitioned KV model over a Map of all keys (to test partitioning soundness). */
const kvMapModel: Model<Map<string, string>, KvInput, KvOutput> = {
  init: () => new Map(),
  step(s, input, output) {
    if (input.op === 'put') return [true, new Map(s).set(input.key, input.value)];
    if (input.op === 'delete') {
      const m = new Map(s);
      m.delete(input.key);
      return [true, m];
    }
    if (output === undefined) return [true, s];
    return [(output as { value: string | null }).value === (s.get(input.key) ?? null), s];
  },
};

describe('checker vs brute force', () => {
  it('default stableHash caching on an unpartitioned Map-state model agrees too', () => {
    fc.assert(
      fc.property(fc.array(kvOp, { minLength: 1, maxLength: 6 }), (h) => {
        expect(checkLinearizability(kvMapModel, h).linearizable).toBe(brute(kvMapModel, h));
      }),
      { numRuns: 3000, seed: 4 },
    );
  });

  it('kvModel agrees with brute force on random histories (<= 6 ops, 2 keys)', () => {
    fc.assert(
      fc.property(fc.array(kvOp, { minLength: 1, maxLength: 6 }), (h) => {
        const got = checkLinearizability(kvModel, h).linearizable;
        const want = brute(kvMapModel, h);
        expect(got).toBe(want);
      }),
      { numRuns: 3000, seed: 1 },
    );
  });

  it('kvModel with a single key and only gets/puts (denser conflicts)', () => {
    const one = kvOp.map((o) => ({ ...o, input: { ...o.input, key: 'x' } as KvInput }));
    fc.assert(
      fc.property(fc.array(one, { minLength: 1, maxLength: 6 }), (h) => {
        expect(checkLinearizability(kvModel, h).linearizable).toBe(brute(kvModel, h));
      }),
      { numRuns: 3000, seed: 2 },
    );
  });

  for (const leases of [false, true]) {
    it(`fencedLockModel({leases: ${leases}}) agrees with brute force on the model itself`, () => {
      const m = fencedLockModel({ leases });
      fc.assert(
        fc.property(fc.array(lockOp, { minLength: 1, maxLength: 6 }), (h) => {
          expect(checkLinearizability(m, h).linearizable).toBe(brute(m, h));
        }),
        { numRuns: 3000, seed: 3 },
      );
    });
  }
});

describe('longer histories (> 32 ops, bitset words) vs memo DFS', () => {
  it('kvModel single key, 30..45 ops, low concurrency', () => {
    const op = fc
      .tuple(
        fc.constantFrom('put', 'get', 'get'),
        fc.constantFrom('1', '2', '3'),
        fc.constantFrom<string | null>(null, '1', '2', '3'),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 9 }),
      )
      .map(([o, v, seen, dur, indet]) => ({ o, v, seen, dur, indet }));
    fc.assert(
      fc.property(fc.array(op, { minLength: 30, maxLength: 45 }), (raw) => {
        const h: Operation<KvInput, KvOutput>[] = raw.map((r, i) => {
          const call = i * 2;
          const ret = r.indet === 0 ? null : call + r.dur;
          const input: KvInput =
            r.o === 'put' ? { op: 'put', key: 'x', value: r.v } : { op: 'get', key: 'x' };
          const output: KvOutput | undefined =
            ret === null ? undefined : r.o === 'put' ? {} : { value: r.seen };
          return { process: i % 3, input, output, call, ret };
        });
        const want = search(kvModel, h, (s) => JSON.stringify(s));
        expect(checkLinearizability(kvModel, h).linearizable).toBe(want);
      }),
      { numRuns: 400, seed: 9 },
    );
  });
});

type LS = { holder: string | null; token: bigint; last: bigint };
/** Exact fenced-lock semantics: an indeterminate acquire branches over every possible token. */
function exactLockNext(leases: boolean, s: LS, i: LockInput, o: LockOutput | undefined): LS[] {
  if (i.op === 'acquire') {
    if (s.holder !== null && !leases) return [];
    if (o !== undefined) {
      const t = (o as { token: bigint }).token;
      return t > s.last ? [{ holder: i.client, token: t, last: t }] : [];
    }
    return [1n, 2n, 3n, 4n].map((d) => ({ holder: i.client, token: s.last + d, last: s.last + d }));
  }
  const holds = s.holder === i.client && s.token === i.token;
  const free = { holder: null, token: 0n, last: s.last };
  if (o === undefined) return [holds ? free : s];
  const ok = (o as { ok: boolean }).ok;
  if (ok) return holds ? [free] : [];
  if (leases) return [holds ? free : s];
  return holds ? [] : [s];
}
function exactLockBrute(leases: boolean, ops: Operation<LockInput, LockOutput>[]): boolean {
  const n = ops.length;
  const done = new Array<boolean>(n).fill(false);
  const go = (state: LS): boolean => {
    if (ops.every((o, i) => o.ret === null || done[i])) return true;
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      const o = ops[i] as Operation<LockInput, LockOutput>;
      if (ops.some((a, j) => !done[j] && j !== i && a.ret !== null && a.ret < o.call)) continue;
      for (const ns of exactLockNext(leases, state, o.input, o.output)) {
        done[i] = true;
        const r = go(ns);
        done[i] = false;
        if (r) return true;
      }
    }
    return false;
  };
  return go({ holder: null, token: 0n, last: 0n });
}

describe('fencedLockModel vs exact lock semantics (unknown tokens enumerated)', () => {
  for (const leases of [false, true]) {
    it(`leases: ${leases}`, () => {
      fc.assert(
        fc.property(fc.array(lockOp, { minLength: 1, maxLength: 6 }), (h) => {
          expect(checkLinearizability(fencedLockModel({ leases }), h).linearizable).toBe(
            exactLockBrute(leases, h),
          );
        }),
        { numRuns: 5000, seed: 5 },
      );
    });
  }
});
