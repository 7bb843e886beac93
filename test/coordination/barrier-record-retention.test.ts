import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CoordinationStateMachine } from '../../runtime/coordination/index.js';
import { bytes, Rig } from './helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * A finished barrier generation is dropped (its waiters were all released with it), so the state
 * does not grow by one record per barrier name. Only satisfied cascade stages `base#k` are kept,
 * at most MAX_BARRIERS of them, because a later `base#(k+1)` opens on them.
 */
describe('finished barrier records are dropped', () => {
  it('many distinct one-shot barriers leave no records behind', () => {
    const r = new Rig({ limits: { maxBarriers: 1 } });
    r.open('s');
    const before = r.sm.snapshot().length;
    for (let n = 0; n < 2000; n++) expect(r.arrive('s', `job-${n}`, 1).outcome).toBe('satisfied');
    expect(r.kinds('barrier_released')).toHaveLength(2000);
    expect(r.sm.barrier('job-0')).toBeNull();
    expect(r.sm.barrier('job-1999')).toBeNull();
    expect(r.sm.snapshot().length - before).toBeLessThan(64);
  });

  it('timed-out, cancelled and left-empty generations are dropped too', () => {
    const r = new Rig();
    for (const s of ['p1', 'p2']) r.open(s, 300_000);
    r.arrive('p1', 'T', 2, 1, 100);
    r.arrive('p1', 'x#1', 2, 1, 100);
    r.arrive('p1', 'x#2', 2, 1, 10_000);
    r.arrive('p2', 'C', 1 + 1);
    r.ok({ type: 'BarrierLeave', sessionId: 'p2', name: 'C' }); // required 1, nobody arrived
    r.arrive('p1', 'Z', 1 + 1);
    r.ok({ type: 'BarrierLeave', sessionId: 'p1', name: 'Z' }); // required 1, still waiting
    r.advance(100);
    const released = r.kinds('barrier_released') as { name: string; outcome: string }[];
    expect(released.map((e) => [e.name, e.outcome])).toEqual([
      ['T', 'timed_out'],
      ['x#1', 'timed_out'],
      ['x#2', 'cancelled'],
    ]);
    for (const n of ['T', 'x#1', 'x#2']) expect(r.sm.barrier(n)).toBeNull();
    expect(r.sm.barrier('C')?.state).toBe('waiting');
    // A leave of a dropped generation: the barrier is unknown now.
    expect(r.apply({ type: 'BarrierLeave', sessionId: 'p1', name: 'T' }).errorCode).toBe('UNKNOWN_BARRIER');
  });

  it('a satisfied cascade stage is kept and opens the next stage arriving later', () => {
    const r = new Rig();
    for (const s of ['p1', 'p2']) r.open(s, 300_000);
    r.arrive('p1', 'job#1', 2);
    r.arrive('p2', 'job#1', 2);
    expect(r.sm.barrier('job#1')?.state).toBe('satisfied');
    expect(r.arrive('p1', 'job#2', 1).outcome).toBe('satisfied');
    // A restore keeps them (and their order).
    const copy = new CoordinationStateMachine();
    copy.restore(r.sm.snapshot());
    expect(copy.snapshot()).toEqual(r.sm.snapshot());
    expect(
      copy.applyCommand(
        {
          type: 'BarrierArrive',
          sessionId: 'p2',
          name: 'job#3',
          participants: 1,
          threshold: 1,
          timeoutMs: 0,
        },
        r.index + 1,
      ).outcome,
    ).toBe('satisfied');
  });

  it('at most MAX_BARRIERS satisfied stages are kept; the oldest goes first', () => {
    const r = new Rig({ limits: { maxBarriers: 3 } });
    r.open('s', 300_000);
    for (let n = 0; n < 5; n++) r.arrive('s', `c${n}#1`, 1);
    expect([0, 1, 2, 3, 4].map((n) => r.sm.barrier(`c${n}#1`)?.state ?? null)).toEqual([
      null,
      null,
      'satisfied',
      'satisfied',
      'satisfied',
    ]);
    // c0's stage 2 no longer finds stage 1: it waits (here until its timeout).
    expect(r.arrive('s', 'c0#2', 1, 1, 100).outcome).toBe('waiting');
    expect(r.arrive('s', 'c4#2', 1).outcome).toBe('satisfied');
    r.advance(100);
    expect(r.kinds('barrier_released').at(-1)).toMatchObject({ name: 'c0#2', outcome: 'timed_out' });
    const size = r.sm.snapshot().length;
    for (let n = 5; n < 500; n++) r.arrive('s', `c${n}#1`, 1);
    expect(r.sm.snapshot().length).toBeLessThan(size + 200);
  });

  it('snapshot bytes of states without finished barriers are those of the previous release', () => {
    // Sessions, locks (held, re-entrant with one TTL, renewed, queued), waiting barriers (joined,
    // left, a gated stage), an election, KV values, siblings and a kept tombstone.
    const r = new Rig({ conflictRules: [{ prefix: 'app/', strategy: 'application_callback' }] });
    for (const s of ['a', 'b', 'c']) r.open(s, 120_000);
    const t = r.acquire('a', 'L', { ttlMs: 5000 }).fenceToken;
    r.acquire('a', 'L', { ttlMs: 5000 });
    r.acquire('b', 'L', { waitMs: 9000 });
    r.advance(1000);
    r.ok({ type: 'LockRenew', sessionId: 'a', name: 'L', fenceToken: t });
    r.arrive('a', 'B', 3, 1, 50_000);
    r.arrive('b', 'B', 4, 1, 50_000);
    r.ok({ type: 'BarrierLeave', sessionId: 'b', name: 'B' });
    r.arrive('c', 'P', 10, 0.7);
    r.arrive('a', 'stage#2', 1);
    r.ok({ type: 'ElectionCampaign', sessionId: 'a', name: 'E', value: bytes('va') });
    r.ok({ type: 'ElectionCampaign', sessionId: 'b', name: 'E', value: bytes('vb') });
    r.ok({ type: 'KvPut', key: 'k', value: bytes('1'), context: { entries: [] }, actor: 'a' });
    r.ok({ type: 'KvPut', key: 'app/s', value: bytes('x'), context: { entries: [] }, actor: 'a' });
    r.ok({ type: 'KvPut', key: 'app/s', value: bytes('y'), context: { entries: [] }, actor: 'b' });
    r.ok({ type: 'KvPut', key: 'gone', value: bytes('z'), context: { entries: [] }, actor: 'c' });
    r.ok({ type: 'KvDelete', key: 'gone', context: r.sm.kvGet('gone').context, actor: 'c' });
    r.ok({ type: 'KvCompact', appliedFloor: 1 });
    r.advance(500);
    expect(r.kinds('barrier_released')).toEqual([]);
    // Computed with the code before finished barriers were dropped (and before the KV counter floor).
    expect(sha(r.sm.snapshot())).toBe('8594192bf870bbebc422bfb4b9a6b949ccd05f7a7cc53b6fb175c6590a9e5c01');
  });

  it('a snapshot of an earlier release, which kept finished generations, restores without them', () => {
    const rec = (name: string, state: string) => ({
      name,
      generation: '3',
      required: 2,
      threshold: 1,
      timeoutMs: 0,
      createdAt: 0,
      deadline: 0,
      state,
      arrived: ['s1', 's2'],
    });
    const old = {
      v: 1,
      lastIndex: 7,
      now: 0,
      sessions: [['s1', 'c1', 10_000, 10_000]],
      locks: [],
      barriers: [
        rec('done', 'satisfied'),
        rec('late', 'timed_out'),
        rec('c#1', 'satisfied'),
        rec('w', 'waiting'),
      ],
      elections: [],
      kv: [],
    };
    const m = new CoordinationStateMachine();
    m.restore(new TextEncoder().encode(JSON.stringify(old)));
    // As a replay by this release would have left it: finished generations gone, except a
    // satisfied cascade stage; waiting ones untouched.
    expect(m.barrier('done')).toBeNull();
    expect(m.barrier('late')).toBeNull();
    expect(m.barrier('c#1')?.state).toBe('satisfied');
    expect(m.barrier('w')?.state).toBe('waiting');
  });
});
