import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/run-bench.js';
import {
  type ClientLike,
  checkBarrierOutcome,
  clientTarget,
  valueBytes,
} from '../../bench/targets/client-target.js';
import type { BenchTarget } from '../../bench/targets/types.js';
import { barrierLatency, defaultWorkloads, lockContention, putLatency } from '../../bench/workloads/index.js';

/** An in-process fake of the contract client: a map, a FIFO mutex per name, counting barriers. */
function fakeClient(opts: { brokenLock?: boolean } = {}): ClientLike & { puts: number } {
  const kv = new Map<string, Uint8Array>();
  const locks = new Map<string, { held: boolean; waiters: (() => void)[] }>();
  const barriers = new Map<string, { arrived: number; waiters: ((r: unknown) => void)[] }>();
  const tick = () => new Promise<void>((r) => setImmediate(r));
  const c = {
    puts: 0,
    async put(key: string, value: Uint8Array) {
      await tick();
      c.puts++;
      kv.set(key, value);
    },
    async get(key: string) {
      await tick();
      const v = kv.get(key);
      return v === undefined ? null : { value: v, context: 'vv' };
    },
    async lock(name: string) {
      await tick();
      const lock = locks.get(name) ?? { held: false, waiters: [] };
      locks.set(name, lock);
      if (lock.held && !opts.brokenLock) await new Promise<void>((r) => lock.waiters.push(r));
      lock.held = true;
      return {
        async release() {
          await tick();
          const next = lock.waiters.shift();
          if (next) next();
          else lock.held = false;
        },
      };
    },
    barrier(name: string, { participants }: { participants: number }) {
      return {
        async arrive() {
          await tick();
          const bar = barriers.get(name) ?? { arrived: 0, waiters: [] };
          barriers.set(name, bar);
          bar.arrived++;
          const done = new Promise<unknown>((r) => bar.waiters.push(r));
          if (bar.arrived >= participants) for (const w of bar.waiters) w({ outcome: 'satisfied' });
          return done;
        },
      };
    },
  };
  return c;
}

const quiet = { out: null, progressStream: { isTTY: false } as unknown as NodeJS.WriteStream };

describe('client adapter', () => {
  it('extracts value bytes from the shapes get() may return', () => {
    const b = new Uint8Array([1, 2]);
    expect(valueBytes(null)).toBeNull();
    expect(valueBytes(undefined)).toBeNull();
    expect(valueBytes(b)).toBe(b);
    expect(valueBytes({ value: b, context: {} })).toBe(b);
    expect(valueBytes('hi')).toEqual(new TextEncoder().encode('hi'));
    expect(() => valueBytes(42)).toThrow(TypeError);
  });

  it('treats a barrier released other than satisfied as a failure', () => {
    expect(() => checkBarrierOutcome({ outcome: 'satisfied' })).not.toThrow();
    expect(() => checkBarrierOutcome({ outcome: 'timed_out' })).toThrow(/timed_out/);
    expect(() => checkBarrierOutcome(undefined)).not.toThrow();
  });

  it('has no barrier when the client has none', () => {
    const { barrier: _b, ...noBarrier } = fakeClient();
    expect(clientTarget(noBarrier).barrier).toBeUndefined();
  });
});

describe('workloads against a fake target', () => {
  it('the default suite runs every workload with the requested op counts', async () => {
    const client = fakeClient();
    const target = clientTarget(client);
    let settles = 0;
    target.settle = async () => void settles++;
    const workloads = defaultWorkloads(0.02, 10_000);
    const report = await runBench({ targets: [target], workloads, ...quiet });
    expect(settles).toBe(workloads.length); // after every workload
    expect(report.results.map((r) => r.workload)).toEqual(workloads.map((w) => w.id));
    for (const r of report.results) {
      expect(r.status, `${r.workload}: ${r.reason}`).toBe('ok');
      expect(r.ops).toBe(workloads.find((w) => w.id === r.workload)!.ops);
      expect(r.truncated).toBe(false);
    }
    // put-latency (20) + put-throughput (200) + the read workload's one setup put.
    expect(client.puts).toBe(20 + 200 + 1);
    const tp = report.results.find((r) => r.workload === 'put-throughput')!;
    expect(tp.metrics[0]!.name).toBe('ops/s');
    expect(tp.metrics[0]!.value).toBeCloseTo((tp.ops / tp.durationMs) * 1000, 6);
  });

  it('stops at the time bound and marks the result truncated', async () => {
    const slow: BenchTarget = {
      ...clientTarget(fakeClient()),
      put: () => new Promise<void>((r) => setTimeout(r, 20)),
    };
    const res = await putLatency({ ops: 1000, maxMs: 60 }).run(slow, {
      runId: 'x',
      progress: () => undefined,
    });
    expect(res.status).toBe('ok');
    expect(res.truncated).toBe(true);
    expect(res.ops).toBeGreaterThan(0);
    expect(res.ops).toBeLessThan(1000);
  });

  it('the contended-lock workload detects a lock that does not exclude', async () => {
    const res = await lockContention({ ops: 40, workers: 8 }).run(
      clientTarget(fakeClient({ brokenLock: true })),
      {
        runId: 'x',
        progress: () => undefined,
      },
    );
    expect(res.status).toBe('error');
    expect(res.reason).toMatch(/mutual exclusion violated/);
    const good = await lockContention({ ops: 40, workers: 8 }).run(clientTarget(fakeClient()), {
      runId: 'y',
      progress: () => undefined,
    });
    expect(good.status).toBe('ok');
  });

  it('barrier is n/a without a barrier, and a failing op is an error row, not a crash', async () => {
    const { barrier: _b, ...noBarrier } = fakeClient();
    const t = clientTarget(noBarrier);
    const nb = await barrierLatency({ ops: 2 }).run(t, { runId: 'x', progress: () => undefined });
    expect(nb.status).toBe('n/a');
    const failing: BenchTarget = { ...t, name: 'bad', put: () => Promise.reject(new Error('disk on fire')) };
    const report = await runBench({ targets: [failing], workloads: [putLatency({ ops: 3 })], ...quiet });
    expect(report.results[0]).toMatchObject({ status: 'error', reason: 'disk on fire', target: 'bad' });
  });
});

/** A fake server whose locks and barriers belong to sessions, like ours: a session cannot queue
 * behind itself and a barrier counts distinct sessions. */
function sessionServer() {
  const locks = new Map<string, { holder: number | null; queue: { s: number; go: () => void }[] }>();
  const barriers = new Map<string, { sessions: Set<number>; waiters: ((r: unknown) => void)[] }>();
  let nextId = 0;
  let closed = 0;
  const tick = () => new Promise<void>((r) => setImmediate(r));
  const session = (): ClientLike => {
    const id = nextId++;
    return {
      put: async () => undefined,
      get: async () => null,
      async lock(name) {
        await tick();
        const l = locks.get(name) ?? { holder: null, queue: [] };
        locks.set(name, l);
        if (l.holder === id || l.queue.some((q) => q.s === id))
          throw new Error('LOCK_ALREADY_HELD by this session');
        if (l.holder !== null) await new Promise<void>((go) => l.queue.push({ s: id, go }));
        l.holder = id;
        return {
          async release() {
            await tick();
            const next = l.queue.shift();
            l.holder = null;
            if (next) next.go();
          },
        };
      },
      barrier(name, { participants }) {
        return {
          async arrive() {
            await tick();
            const b = barriers.get(name) ?? { sessions: new Set<number>(), waiters: [] };
            barriers.set(name, b);
            b.sessions.add(id);
            const done = new Promise<unknown>((r) => b.waiters.push(r));
            if (b.sessions.size >= participants) for (const w of b.waiters) w({ outcome: 'satisfied' });
            return done;
          },
        };
      },
      close: async () => void closed++,
    };
  };
  return { session, opened: () => nextId, closed: () => closed };
}

describe('client adapter sessions', () => {
  const ctx = { runId: 'x', progress: () => undefined };

  it('concurrent lockers and barrier participants get distinct, reused sessions', async () => {
    const srv = sessionServer();
    const t = clientTarget(srv.session(), { newSession: async () => srv.session() });
    expect((await lockContention({ ops: 80, workers: 8 }).run(t, ctx)).status).toBe('ok');
    expect((await barrierLatency({ ops: 5, participants: 8, maxMs: 5000 }).run(t, ctx)).status).toBe('ok');
    // 1 main + at most 8 pooled sessions, however many operations ran.
    expect(srv.opened()).toBeLessThanOrEqual(9);
    await t.close();
    expect(srv.closed()).toBe(srv.opened());
  });

  it('settle() closes the idle pooled sessions only; a lent one stays open until given back', async () => {
    const srv = sessionServer();
    const t = clientTarget(srv.session(), { newSession: async () => srv.session() });
    expect((await lockContention({ ops: 40, workers: 4 }).run(t, ctx)).status).toBe('ok');
    const pooled = srv.opened() - 1;
    expect(pooled).toBeGreaterThan(0);
    const held = await t.lock('still-held');
    await t.settle?.();
    expect(srv.closed()).toBe(pooled - 1);
    await held.release();
    await t.settle?.();
    expect(srv.closed()).toBe(pooled);
    await t.close();
    expect(srv.closed()).toBe(srv.opened());
  });

  it('without newSession, one session cannot stand in for 8 lockers (the run fails)', async () => {
    const srv = sessionServer();
    const t = clientTarget(srv.session());
    await expect(lockContention({ ops: 40, workers: 8 }).run(t, ctx)).rejects.toThrow(/LOCK_ALREADY_HELD/);
  });
});
