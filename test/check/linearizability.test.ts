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
  renderTimeline,
} from '../../check/index.js';

type KvOp = Operation<KvInput, KvOutput>;
const put = (p: string, key: string, value: string, call: number, ret: number | null): KvOp => ({
  process: p,
  input: { op: 'put', key, value },
  output: ret === null ? undefined : {},
  call,
  ret,
});
const get = (p: string, key: string, value: string | null, call: number, ret: number | null): KvOp => ({
  process: p,
  input: { op: 'get', key },
  output: ret === null ? undefined : { value },
  call,
  ret,
});
const del = (p: string, key: string, call: number, ret: number): KvOp => ({
  process: p,
  input: { op: 'delete', key },
  output: {},
  call,
  ret,
});
const kv = (h: KvOp[]) => checkLinearizability(kvModel, h);

describe('KV model: hand-built histories', () => {
  it('accepts sequential and properly concurrent histories', () => {
    expect(
      kv([
        put('a', 'x', '1', 0, 10),
        get('b', 'x', '1', 20, 30),
        del('a', 'x', 40, 50),
        get('b', 'x', null, 60, 70),
      ]).linearizable,
    ).toBe(true);
    // A read concurrent with a write may see either value.
    expect(
      kv([put('a', 'x', '1', 0, 10), put('a', 'x', '2', 20, 40), get('b', 'x', '1', 25, 30)]).linearizable,
    ).toBe(true);
    expect(
      kv([put('a', 'x', '1', 0, 10), put('a', 'x', '2', 20, 40), get('b', 'x', '2', 25, 30)]).linearizable,
    ).toBe(true);
    // Equal call/return times count as concurrent.
    expect(kv([put('a', 'x', '1', 0, 10), get('b', 'x', null, 10, 12)]).linearizable).toBe(true);
  });

  it('rejects a stale read after a completed write', () => {
    const r = kv([put('a', 'x', '1', 0, 10), get('b', 'x', null, 20, 30)]);
    expect(r.linearizable).toBe(false);
    expect(r.violation?.stuckAt.input).toEqual({ op: 'get', key: 'x' });
  });

  it('rejects the new-old inversion (a later read sees an older value than an earlier read)', () => {
    const h = [
      put('w', 'x', '0', 0, 5),
      put('w', 'x', '1', 10, 100),
      get('r1', 'x', '1', 20, 30),
      get('r2', 'x', '0', 40, 50),
    ];
    const r = kv(h);
    expect(r.linearizable).toBe(false);
    expect(r.violation?.timeline).toContain('!!');
    expect(r.violation?.timeline).toContain('get(x) -> "0"');
    // Without the first read it is fine.
    expect(kv([h[0] as KvOp, h[1] as KvOp, h[3] as KvOp]).linearizable).toBe(true);
  });

  it('rejects a lost write and a read of a value never written', () => {
    expect(
      kv([put('a', 'x', '1', 0, 10), put('b', 'x', '2', 20, 30), get('c', 'x', '1', 40, 50)]).linearizable,
    ).toBe(false);
    expect(kv([put('a', 'x', '1', 0, 10), get('c', 'x', '9', 0, 50)]).linearizable).toBe(false);
  });

  it('treats indeterminate operations as possibly applied (or never)', () => {
    expect(kv([put('a', 'x', '1', 0, null), get('b', 'x', '1', 50, 60)]).linearizable).toBe(true);
    expect(kv([put('a', 'x', '1', 0, null), get('b', 'x', null, 50, 60)]).linearizable).toBe(true);
    expect(
      kv([put('a', 'x', '1', 0, null), get('b', 'x', '1', 50, 60), get('b', 'x', null, 70, 80)]).linearizable,
    ).toBe(false);
    // An indeterminate put cannot take effect before it was called.
    expect(kv([get('b', 'x', '1', 0, 10), put('a', 'x', '1', 20, null)]).linearizable).toBe(false);
    expect(kv([get('b', 'x', null, 0, null)]).linearizable).toBe(true);
  });

  it('partitions per key: keys are independent', () => {
    const r = kv([
      put('a', 'x', '1', 0, 10),
      put('a', 'y', '2', 0, 10),
      get('b', 'y', '2', 20, 30),
      get('b', 'x', '1', 20, 30),
    ]);
    expect(r).toMatchObject({ linearizable: true, partitions: 2 });
  });

  it('reports unknown when the step budget runs out', () => {
    const h: KvOp[] = [];
    for (let i = 0; i < 9; i++) h.push(put(`p${i}`, 'x', String(i), 0, 100));
    h.push(get('r', 'x', 'never', 200, 210));
    expect(checkLinearizability(kvModel, h, { maxSteps: 50 }).linearizable).toBe('unknown');
    expect(checkLinearizability(kvModel, h).linearizable).toBe(false);
  });

  it('the state cache keeps a wide concurrent history fast', () => {
    // 12 concurrent writers: without the cache the search would try up to 12! (4.8e8) orders; with
    // it, each (subset, state) pair once (2^12 subsets here, the state being always the same).
    const h: KvOp[] = [];
    for (let p = 0; p < 12; p++) h.push(put(`w${p}`, 'x', 'same', 0, 1000));
    for (let i = 0; i < 50; i++) h.push(get('r', 'x', 'same', 1001 + i * 2, 1002 + i * 2));
    h.push(get('r', 'x', 'other', 2000, 2001));
    const r = checkLinearizability(kvModel, h);
    expect(r.linearizable).toBe(false);
    expect(r.steps).toBeLessThan(200_000);
  });
});

describe('fenced-lock model', () => {
  type L = Operation<LockInput, LockOutput>;
  const acq = (c: string, token: bigint | undefined, call: number, ret: number | null): L => ({
    process: c,
    input: { op: 'acquire', lock: 'L', client: c },
    output: token === undefined ? undefined : { token },
    call,
    ret,
  });
  const rel = (c: string, token: bigint, ok: boolean, call: number, ret: number): L => ({
    process: c,
    input: { op: 'release', lock: 'L', client: c, token },
    output: { ok },
    call,
    ret,
  });

  it('accepts alternating holders with increasing tokens', () => {
    expect(
      checkLinearizability(fencedLockModel(), [
        acq('a', 5n, 0, 10),
        rel('a', 5n, true, 20, 30),
        acq('b', 9n, 25, 40),
        rel('b', 9n, true, 50, 60),
      ]).linearizable,
    ).toBe(true);
  });

  it('rejects two holders at once and non-increasing tokens', () => {
    expect(
      checkLinearizability(fencedLockModel(), [acq('a', 5n, 0, 10), acq('b', 9n, 20, 30)]).linearizable,
    ).toBe(false);
    expect(
      checkLinearizability(fencedLockModel(), [
        acq('a', 5n, 0, 10),
        rel('a', 5n, true, 20, 30),
        acq('b', 5n, 40, 50),
      ]).linearizable,
    ).toBe(false);
    // With leases a holder may silently lose the lock, but tokens must still increase.
    expect(
      checkLinearizability(fencedLockModel({ leases: true }), [acq('a', 5n, 0, 10), acq('b', 9n, 20, 30)])
        .linearizable,
    ).toBe(true);
    expect(
      checkLinearizability(fencedLockModel({ leases: true }), [acq('a', 9n, 0, 10), acq('b', 5n, 20, 30)])
        .linearizable,
    ).toBe(false);
  });

  it('rejects a release reported ok by a non-holder', () => {
    expect(
      checkLinearizability(fencedLockModel(), [acq('a', 5n, 0, 10), rel('b', 5n, true, 20, 30)]).linearizable,
    ).toBe(false);
    expect(
      checkLinearizability(fencedLockModel(), [acq('a', 5n, 0, 10), rel('b', 5n, false, 20, 30)])
        .linearizable,
    ).toBe(true);
  });
});

describe('user models', () => {
  it('a counter whose increment returns the new value', () => {
    const counter: Model<number, 'inc', number> = {
      init: () => 0,
      step: (s, _i, out) => [out === undefined || out === s + 1, s + 1],
      describe: (_i, o) => `inc -> ${o ?? '?'}`,
    };
    const op = (
      p: string,
      out: number | undefined,
      call: number,
      ret: number | null,
    ): Operation<'inc', number> => ({ process: p, input: 'inc', output: out, call, ret });
    expect(checkLinearizability(counter, [op('a', 2, 0, 10), op('b', 1, 0, 10)]).linearizable).toBe(true);
    const bad = checkLinearizability(counter, [op('a', 1, 0, 10), op('b', 1, 20, 30)]);
    expect(bad.linearizable).toBe(false);
    expect(bad.violation?.timeline).toContain('inc -> 1');
    expect(bad.violation?.longestPrefix).toHaveLength(1);
  });

  it('renders a timeline for any history', () => {
    const t = renderTimeline([put('a', 'x', '1', 0, 10), get('b', 'x', '1', 5, null)], { model: kvModel });
    expect(t.split('\n')).toHaveLength(3);
    expect(t).toMatch(/a\s+\[/);
  });
});

/** Generates a history by running a sequential KV model at random linearization points. */
function generate(
  seedOps: { p: number; kind: number; key: number; val: number; pre: number; post: number; gap: number }[],
): { history: KvOp[]; written: Set<string> } {
  const state = new Map<string, string | null>();
  const busyUntil = new Map<number, number>();
  const history: KvOp[] = [];
  const written = new Set<string>();
  let t = 0;
  for (const s of seedOps) {
    t += s.gap; // linearization point, strictly increasing
    const proc = `p${s.p}`;
    const call = Math.max(t - s.pre, busyUntil.get(s.p) ?? 0);
    if (call > t) continue; // process still busy: skip this op
    const ret = t + s.post;
    busyUntil.set(s.p, ret + 1);
    const key = `k${s.key}`;
    if (s.kind === 0) {
      const v = `v${s.val}`;
      state.set(key, v);
      written.add(v);
      history.push(put(proc, key, v, call, ret));
    } else if (s.kind === 1) {
      state.set(key, null);
      history.push(del(proc, key, call, ret));
    } else {
      history.push(get(proc, key, state.get(key) ?? null, call, ret));
    }
  }
  return { history, written };
}

const opArb = fc.record({
  p: fc.integer({ min: 0, max: 3 }),
  kind: fc.integer({ min: 0, max: 3 }),
  key: fc.integer({ min: 0, max: 1 }),
  val: fc.integer({ min: 0, max: 4 }),
  pre: fc.integer({ min: 0, max: 30 }),
  post: fc.integer({ min: 0, max: 30 }),
  gap: fc.integer({ min: 1, max: 10 }),
});

describe('randomized', () => {
  it('histories generated from the sequential model are linearizable', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const { history } = generate(ops);
        expect(checkLinearizability(kvModel, history).linearizable).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('mutated histories (a read of a value never written) are not', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.nat(), (ops, pick) => {
        const { history } = generate(ops);
        const gets = history.filter((o) => o.input.op === 'get');
        fc.pre(gets.length > 0);
        const victim = gets[pick % gets.length] as KvOp;
        victim.output = { value: 'never-written' };
        expect(checkLinearizability(kvModel, history).linearizable).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('mutated histories (a read returns the overwritten value after a later write completed) are not', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        const { history } = generate(ops);
        // Append: put A completes, then put B completes, then a read returns A (all sequential, fresh key).
        const end = Math.max(0, ...history.map((o) => o.ret ?? 0)) + 10;
        history.push(
          put('x', 'fresh', 'A', end, end + 1),
          put('y', 'fresh', 'B', end + 2, end + 3),
          get('z', 'fresh', 'A', end + 4, end + 5),
        );
        expect(checkLinearizability(kvModel, history).linearizable).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});
