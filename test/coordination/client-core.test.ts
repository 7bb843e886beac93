import { describe, expect, it } from 'vitest';
import {
  type CommandMessage,
  CoordinationClientCore,
  CoordinationError,
  CoordinationStateMachine,
  type CoreClock,
  FenceGuard,
  WaiterRegistry,
} from '../../runtime/coordination/index.js';

/** A manual monotonic clock with timers. */
class ManualClock implements CoreClock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): unknown {
    this.seq += 1;
    this.timers.set(this.seq, { at: this.t + ms, fn });
    return this.seq;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as number);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, x]) => x.at <= end)
        .sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

/** One replica, an in-process log, and client cores sharing the registry fed by its events. */
class World {
  readonly sm = new CoordinationStateMachine();
  readonly clock = new ManualClock();
  readonly registry = new WaiterRegistry();
  index = 0;
  constructor() {
    this.sm.onEvent((e) => this.registry.feed(e));
  }
  propose = async (cmd: CommandMessage) => this.sm.applyCommand(cmd, ++this.index);
  async client(id: string, ttlMs = 60_000): Promise<CoordinationClientCore> {
    const c = new CoordinationClientCore({
      sessionId: id,
      propose: this.propose,
      registry: this.registry,
      clock: this.clock,
      driftBoundMs: 20,
    });
    await c.openSession(ttlMs);
    return c;
  }
  /** Real time passes on the client and the leader commits it. */
  async tick(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.propose({ type: 'TimeAdvance', elapsedMs: ms });
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('client core', () => {
  it('a queued lock resolves when the apply that grants it happens', async () => {
    const w = new World();
    const a = await w.client('a');
    const b = await w.client('b');
    const la = await a.lock('L');
    let got: bigint | null = null;
    const pb = b.lock('L').then((l) => {
      got = l.fenceToken;
      return l;
    });
    await flush();
    expect(got).toBeNull();
    expect(w.sm.lock('L')?.queue.map((q) => q.sessionId)).toEqual(['b']);
    await la.release();
    const lb = await pb;
    expect(lb.fenceToken).toBeGreaterThan(la.fenceToken);
    expect(w.sm.lock('L')?.owner).toBe('b');
    await lb[Symbol.asyncDispose]();
    expect(w.sm.lock('L')).toBeNull();
  });

  it("a holder's signal aborts before the server-side lease can expire", async () => {
    const w = new World();
    const a = await w.client('a');
    const l = await a.lock('L', { ttlMs: 1000 });
    await w.tick(879);
    expect(l.signal.aborted).toBe(false);
    await w.tick(1); // 880 = lease - drift bound - one TimeAdvance period (round trip 0 here)
    expect(l.signal.aborted).toBe(true);
    expect(w.sm.lock('L')?.owner).toBe('a'); // the server still counts it as held
    expect(w.sm.lock('L')?.leaseExpiryMs).toBeGreaterThan(w.sm.now);
  });

  it('renew re-arms the local deadline; a lost session aborts at once', async () => {
    const w = new World();
    const a = await w.client('a');
    const l = await a.lock('L', { ttlMs: 1000 });
    await w.tick(800);
    await l.renew();
    await w.tick(800);
    expect(l.signal.aborted).toBe(false);
    await w.propose({ type: 'SessionExpire', sessionId: 'a' });
    expect(l.signal.aborted).toBe(true);
    expect((l.signal.reason as CoordinationError).code).toBe('LOCK_LOST');
  });

  it('tryLock returns null when busy; errors carry the state machine code', async () => {
    const w = new World();
    const a = await w.client('a');
    const b = await w.client('b');
    const l = await a.lock('L');
    expect(await b.tryLock('L')).toBeNull();
    await expect(b.leaveBarrier('nope')).rejects.toMatchObject({ code: 'UNKNOWN_BARRIER' });
    await l.release();
    await expect(l.release()).resolves.toBeUndefined(); // idempotent locally
    await expect(a.barrier('B', { participants: 2, threshold: 1.5 })).rejects.toBeInstanceOf(
      CoordinationError,
    );
  });

  it('aborting a wait cancels the queued request server-side', async () => {
    const w = new World();
    const a = await w.client('a');
    const b = await w.client('b');
    await a.lock('L');
    const ac = new AbortController();
    const p = b.lock('L', { signal: ac.signal });
    await flush();
    ac.abort(new Error('gave up'));
    await expect(p).rejects.toThrow('gave up');
    expect(w.sm.lock('L')?.queue).toEqual([]);
  });

  it('a timed wait rejects with LOCK_WAIT_TIMEOUT', async () => {
    const w = new World();
    const a = await w.client('a');
    const b = await w.client('b');
    await a.lock('L');
    const p = b.lock('L', { waitMs: 500 });
    p.catch(() => undefined);
    await flush();
    await w.tick(500);
    await expect(p).rejects.toMatchObject({ code: 'LOCK_WAIT_TIMEOUT' });
  });

  it('barrier and election calls resolve on the releasing / electing apply', async () => {
    const w = new World();
    const cs = await Promise.all(['a', 'b', 'c'].map((id) => w.client(id)));
    const results = cs.map((c) => c.barrier('B', { participants: 3 }));
    const all = await Promise.all(results);
    for (const r of all) expect(r).toMatchObject({ outcome: 'satisfied', arrived: ['a', 'b', 'c'] });
    const e1 = await (cs[0] as CoordinationClientCore).campaign('E', new Uint8Array([1]));
    let second: bigint | null = null;
    const p2 = (cs[1] as CoordinationClientCore).campaign('E', new Uint8Array([2])).then((x) => {
      second = x.epoch;
    });
    await flush();
    expect(second).toBeNull();
    await (cs[0] as CoordinationClientCore).resign('E', e1.epoch);
    await p2;
    expect(second).toBeGreaterThan(e1.epoch);
  });

  it('observe yields leadership changes in apply order until aborted', async () => {
    const w = new World();
    const [a, b] = await Promise.all([w.client('a'), w.client('b')]);
    const ac = new AbortController();
    const seen: (string | null)[] = [];
    const done = (async () => {
      for await (const x of (a as CoordinationClientCore).observe('E', ac.signal)) seen.push(x.leader);
    })();
    const ea = await (a as CoordinationClientCore).campaign('E', new Uint8Array([1]));
    const pb = (b as CoordinationClientCore).campaign('E', new Uint8Array([2]));
    await flush();
    await (a as CoordinationClientCore).resign('E', ea.epoch);
    const eb = await pb;
    await (b as CoordinationClientCore).resign('E', eb.epoch);
    await flush();
    ac.abort();
    await done;
    expect(seen).toEqual(['a', 'b', null]);
  });

  it('locks_with_scheduler: a worker pool never runs a job whose lock it does not hold', async () => {
    const w = new World();
    const guard = new FenceGuard();
    const workers = await Promise.all([1, 2, 3, 4].map((i) => w.client(`w${i}`)));
    const queue = Array.from({ length: 20 }, (_, j) => j);
    const done = new Set<number>();
    let runsWithoutLock = 0;
    let refusedAfterPause = 0;
    let paused = false;
    const work = async (c: CoordinationClientCore, id: string) => {
      for (;;) {
        const job = queue.shift();
        if (job === undefined) return;
        const name = `job-${job % 3}`; // 3 locks for 20 jobs: workers contend
        const lock = await c.lock(name, { ttlMs: 1000 });
        if (id === 'w2' && !paused) {
          // A long pause (GC, swap) past the lease: the lock is gone meanwhile.
          paused = true;
          await w.tick(1500);
        }
        if (lock.signal.aborted || !guard.accepts(name, lock.fenceToken)) {
          refusedAfterPause++;
          queue.push(job);
          await lock.release().catch(() => undefined);
          continue;
        }
        guard.check(name, lock.fenceToken);
        if (w.sm.lock(name)?.owner !== id || w.sm.lock(name)?.fenceToken !== lock.fenceToken)
          runsWithoutLock++;
        done.add(job);
        await w.tick(10);
        await lock.release(); // may have been lost meanwhile (another worker's pause): a no-op then
      }
    };
    await Promise.all(workers.map((c, i) => work(c, `w${i + 1}`)));
    expect(done.size).toBe(20);
    expect(runsWithoutLock).toBe(0);
    expect(refusedAfterPause).toBeGreaterThanOrEqual(1); // the paused worker did not run its job
  });
});
