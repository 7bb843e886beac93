import { describe, expect, it } from 'vitest';
import { bytes, Rig, text } from './helpers.js';

const sessions = (r: Rig, n: number): string[] => {
  const ids = Array.from({ length: n }, (_, i) => `p${i + 1}`);
  for (const id of ids) r.open(id, 300_000);
  return ids;
};

describe('barriers', () => {
  it('barrier_all_arrive: 4 arrive and all are released together', () => {
    const r = new Rig();
    const ps = sessions(r, 4);
    for (const p of ps.slice(0, 3)) expect(r.arrive(p, 'B', 4).outcome).toBe('waiting');
    expect(r.kinds('barrier_released')).toHaveLength(0);
    const last = r.arrive('p4', 'B', 4);
    expect(last.outcome).toBe('satisfied');
    expect(last.arrived).toEqual(ps);
    const rel = r.kinds('barrier_released');
    expect(rel).toHaveLength(1); // exactly once, for everyone
    expect(rel[0]).toMatchObject({ outcome: 'satisfied', arrived: ps });
  });

  it('barrier_timeout: one participant is missing; all released with timed_out', () => {
    const r = new Rig();
    sessions(r, 4);
    for (const p of ['p1', 'p2', 'p3']) r.arrive(p, 'B', 4, 1, 1000);
    r.advance(999);
    expect(r.kinds('barrier_released')).toHaveLength(0);
    r.advance(1);
    expect(r.kinds('barrier_released')).toMatchObject([
      { outcome: 'timed_out', arrived: ['p1', 'p2', 'p3'] },
    ]);
    expect(r.sm.barrier('B')).toBeNull(); // a finished generation is dropped
    r.advance(100_000);
    expect(r.kinds('barrier_released')).toHaveLength(1);
  });

  it('barrier timeout defaults to BARRIER_TIMEOUT_MS', () => {
    const r = new Rig();
    sessions(r, 2);
    r.arrive('p1', 'B', 2);
    r.advance(29_999);
    expect(r.sm.barrier('B')?.state).toBe('waiting');
    r.advance(1);
    expect(r.kinds('barrier_released')).toMatchObject([{ outcome: 'timed_out' }]);
    expect(r.sm.barrier('B')).toBeNull();
  });

  it('partial_barrier: with threshold 0.75 the barrier releases at 3 of 4', () => {
    const r = new Rig();
    sessions(r, 4);
    expect(r.arrive('p1', 'B', 4, 0.75).outcome).toBe('waiting');
    expect(r.arrive('p2', 'B', 4, 0.75).outcome).toBe('waiting');
    const third = r.arrive('p3', 'B', 4, 0.75);
    expect(third.outcome).toBe('satisfied');
    expect(third.arrived).toHaveLength(3);
  });

  it('generations: a released barrier can be reused; the generation grows', () => {
    const r = new Rig();
    sessions(r, 2);
    r.arrive('p1', 'B', 2);
    const g1 = r.arrive('p2', 'B', 2).epoch;
    const again = r.arrive('p1', 'B', 2);
    expect(again.outcome).toBe('waiting');
    expect(again.epoch).toBeGreaterThan(g1);
    expect(r.arrive('p2', 'B', 2).outcome).toBe('satisfied');
    expect(r.kinds('barrier_released')).toHaveLength(2);
  });

  it('join (a larger count) and leave (one fewer needed) after creation', () => {
    const r = new Rig();
    sessions(r, 4);
    r.arrive('p1', 'B', 2);
    expect(r.arrive('p2', 'B', 3).outcome).toBe('waiting'); // p2 joins, now 3 needed
    expect(r.arrive('p3', 'B', 3).outcome).toBe('satisfied');
    expect(r.sm.barrier('B')).toBeNull();
    r.arrive('p1', 'C', 3);
    r.arrive('p2', 'C', 3);
    expect(r.apply({ type: 'BarrierLeave', sessionId: 'p2', name: 'C' }).outcome).toBe('left');
    expect(r.sm.barrier('C')?.requiredCount).toBe(2);
    expect(r.arrive('p3', 'C', 2).outcome).toBe('satisfied');
  });

  it('leave withdraws the arrival and one required participant; a second leave is NOT_ARRIVED', () => {
    const r = new Rig();
    sessions(r, 3);
    r.arrive('p1', 'B', 3);
    r.arrive('p2', 'B', 3);
    r.arrive('p3', 'B', 4);
    r.apply({ type: 'BarrierLeave', sessionId: 'p3', name: 'B' }); // 3 needed, p1 p2 arrived
    expect(r.sm.barrier('B')?.state).toBe('waiting');
    r.arrive('p1', 'D', 1, 1);
    r.arrive('p1', 'E', 2);
    r.apply({ type: 'BarrierLeave', sessionId: 'p1', name: 'E' });
    expect(r.sm.barrier('E')?.state).toBe('waiting'); // 1 needed, nobody arrived
    r.arrive('p2', 'F', 1 + 1);
    r.apply({ type: 'BarrierLeave', sessionId: 'p2', name: 'F' });
    expect(r.sm.barrier('F')).toMatchObject({ requiredCount: 1, arrived: [], state: 'waiting' });
    r.expectRejected({ type: 'BarrierLeave', sessionId: 'p2', name: 'F' }, 'NOT_ARRIVED');
    expect(r.kinds('barrier_released').map((e) => (e as { name: string }).name)).toEqual(['D']);
  });

  it('a session lost cancels its arrival; the barrier then times out without it', () => {
    const r = new Rig();
    sessions(r, 2);
    r.arrive('p1', 'B', 2, 1, 5000);
    r.ok({ type: 'SessionClose', sessionId: 'p1' });
    expect(r.kinds('barrier_wait_cancelled')).toMatchObject([{ sessionId: 'p1' }]);
    expect(r.sm.barrier('B')?.arrived).toEqual([]);
    r.advance(5000);
    expect(r.kinds('barrier_released')).toMatchObject([{ outcome: 'timed_out', arrived: [] }]);
  });

  it('cascading stages: stage n+1 opens when stage n is released; a failed stage cancels the next', () => {
    const r = new Rig();
    sessions(r, 2);
    // Fast participant reaches stage 2 early; it cannot release before stage 1.
    r.arrive('p1', 'job#1', 2);
    r.arrive('p1', 'job#2', 1);
    expect(r.sm.barrier('job#2')?.state).toBe('waiting');
    r.arrive('p2', 'job#1', 2);
    expect(r.kinds('barrier_released').map((e) => (e as { name: string }).name)).toEqual(['job#1', 'job#2']);
    // Satisfied stages are kept: a later stage 3 opens at once.
    expect(r.sm.barrier('job#2')?.state).toBe('satisfied');
    expect(r.arrive('p2', 'job#3', 1).outcome).toBe('satisfied');
    // Stage 1 of another cascade times out: stage 2 is cancelled.
    r.arrive('p1', 'x#1', 2, 1, 100);
    r.arrive('p1', 'x#2', 2, 1, 10_000);
    r.advance(100);
    expect(r.kinds('barrier_released').slice(3)).toMatchObject([
      { name: 'x#1', outcome: 'timed_out' },
      { name: 'x#2', outcome: 'cancelled' },
    ]);
    expect(r.sm.barrier('x#1')).toBeNull();
    expect(r.sm.barrier('x#2')).toBeNull();
  });

  describe('bad input', () => {
    it('threshold outside (0, 1], participants < 1, unknown barrier, mismatch, too many barriers', () => {
      const r = new Rig({ limits: { maxBarriers: 2 } });
      sessions(r, 3);
      for (const t of [0, -0.5, 1.01, Number.NaN, Number.POSITIVE_INFINITY]) {
        r.expectRejected(
          { type: 'BarrierArrive', sessionId: 'p1', name: 'B', participants: 4, threshold: t, timeoutMs: 0 },
          'INVALID_THRESHOLD',
        );
      }
      r.expectRejected(
        { type: 'BarrierArrive', sessionId: 'p1', name: 'B', participants: 0, threshold: 1, timeoutMs: 0 },
        'INVALID_PARTICIPANTS',
      );
      r.expectRejected(
        { type: 'BarrierArrive', sessionId: 'p1', name: 'B', participants: 2.5, threshold: 1, timeoutMs: 0 },
        'INVALID_PARTICIPANTS',
      );
      r.expectRejected({ type: 'BarrierLeave', sessionId: 'p1', name: 'nope' }, 'UNKNOWN_BARRIER');
      r.arrive('p1', 'B', 3);
      r.expectRejected(
        { type: 'BarrierArrive', sessionId: 'p2', name: 'B', participants: 3, threshold: 0.5, timeoutMs: 0 },
        'BARRIER_MISMATCH',
      );
      r.expectRejected(
        { type: 'BarrierArrive', sessionId: 'p2', name: 'B', participants: 2, threshold: 1, timeoutMs: 0 },
        'BARRIER_MISMATCH',
      );
      r.expectRejected({ type: 'BarrierLeave', sessionId: 'p2', name: 'B' }, 'NOT_ARRIVED');
      r.arrive('p1', 'C', 3);
      r.expectRejected(
        { type: 'BarrierArrive', sessionId: 'p1', name: 'D', participants: 3, threshold: 1, timeoutMs: 0 },
        'TOO_MANY_BARRIERS',
      );
      r.expectRejected(
        {
          type: 'BarrierArrive',
          sessionId: 'p1',
          name: 'y'.repeat(600),
          participants: 3,
          threshold: 1,
          timeoutMs: 0,
        },
        'NAME_TOO_LONG',
      );
    });
  });
});

describe('elections', () => {
  it('campaign, queue, resign hands over with a larger epoch', () => {
    const r = new Rig();
    sessions(r, 3);
    const a = r.apply({ type: 'ElectionCampaign', sessionId: 'p1', name: 'E', value: bytes('one') });
    expect(a.outcome).toBe('elected');
    expect(a.epoch).toBeGreaterThan(0n);
    expect(
      r.apply({ type: 'ElectionCampaign', sessionId: 'p2', name: 'E', value: bytes('two') }).outcome,
    ).toBe('queued');
    expect(r.apply({ type: 'ElectionCampaign', sessionId: 'p1', name: 'E', value: bytes('one') }).epoch).toBe(
      a.epoch,
    );
    r.expectRejected(
      { type: 'ElectionResign', sessionId: 'p1', name: 'E', epoch: a.epoch - 1n },
      'STALE_EPOCH',
    );
    r.expectRejected(
      { type: 'ElectionResign', sessionId: 'p2', name: 'E', epoch: a.epoch },
      'NOT_ELECTION_LEADER',
    );
    r.expectRejected(
      { type: 'ElectionResign', sessionId: 'p1', name: 'nope', epoch: a.epoch },
      'UNKNOWN_ELECTION',
    );
    r.ok({ type: 'ElectionResign', sessionId: 'p1', name: 'E', epoch: a.epoch });
    const view = r.sm.election('E');
    expect(view?.leader).toBe('p2');
    expect(text(view?.value ?? null)).toBe('two');
    expect(view?.epoch).toBeGreaterThan(a.epoch);
    const leaders = r.kinds('election_leader').map((e) => (e as { sessionId: string }).sessionId);
    expect(leaders).toEqual(['p1', 'p2']);
  });

  it('a campaign aborts at once when its session is lost; a lost leader hands over', () => {
    const r = new Rig();
    r.open('a', 1000);
    r.open('b', 5000);
    r.open('c', 5000);
    r.apply({ type: 'ElectionCampaign', sessionId: 'b', name: 'E', value: bytes('b') });
    r.apply({ type: 'ElectionCampaign', sessionId: 'a', name: 'E', value: bytes('a') });
    r.apply({ type: 'ElectionCampaign', sessionId: 'c', name: 'E', value: bytes('c') });
    r.advance(1000); // a expires while queued
    expect(r.kinds('campaign_aborted')).toMatchObject([{ sessionId: 'a', reason: 'session_lost' }]);
    expect(r.sm.election('E')?.candidates).toEqual(['c']);
    r.ok({ type: 'SessionExpire', sessionId: 'b' });
    expect(r.sm.election('E')?.leader).toBe('c');
  });

  it('epochs strictly increase when one TimeAdvance hands leadership over twice', () => {
    const r = new Rig();
    r.open('a', 800);
    r.open('b', 800);
    r.open('c', 5000);
    for (const s of ['a', 'b', 'c'])
      r.apply({ type: 'ElectionCampaign', sessionId: s, name: 'E', value: bytes(s) });
    r.advance(1000); // a (leader) and b (next in line) expire in the same entry
    const leaders = r.kinds('election_leader') as { sessionId: string; epoch: bigint }[];
    expect(leaders.map((e) => e.sessionId)).toEqual(['a', 'b', 'c']);
    const epochs = leaders.map((e) => e.epoch);
    for (let i = 1; i < epochs.length; i++) expect(epochs[i]).toBeGreaterThan(epochs[i - 1] as bigint);
    expect(r.sm.election('E')?.epoch).toBe(epochs[2]);
  });

  it('after such a cascade drops the election, a new campaign still gets a larger epoch', () => {
    const r = new Rig();
    for (const s of ['a', 'b', 'c']) r.open(s, 800);
    r.open('d', 5000);
    for (const s of ['a', 'b', 'c'])
      r.apply({ type: 'ElectionCampaign', sessionId: s, name: 'E', value: bytes(s) });
    r.advance(1000); // a, b and c expire: b and c lead in turn within this entry, then nobody
    expect(r.sm.election('E')).toBeNull();
    const epochs = (r.kinds('election_leader') as { epoch: bigint }[])
      .map((e) => e.epoch)
      .filter((e) => e > 0n);
    const d = r.apply({ type: 'ElectionCampaign', sessionId: 'd', name: 'E', value: bytes('d') });
    expect(d.epoch).toBeGreaterThan(epochs.at(-1) as bigint);
  });

  it('withdrawing a pending campaign (epoch 0)', () => {
    const r = new Rig();
    sessions(r, 2);
    r.apply({ type: 'ElectionCampaign', sessionId: 'p1', name: 'E', value: bytes('') });
    r.apply({ type: 'ElectionCampaign', sessionId: 'p2', name: 'E', value: bytes('') });
    expect(r.apply({ type: 'ElectionResign', sessionId: 'p2', name: 'E', epoch: 0n }).outcome).toBe(
      'withdrawn',
    );
    r.expectRejected(
      { type: 'ElectionResign', sessionId: 'p2', name: 'E', epoch: 0n },
      'NOT_ELECTION_LEADER',
    );
    r.expectRejected(
      { type: 'ElectionCampaign', sessionId: 'p2', name: 'E', value: new Uint8Array(1048577) },
      'VALUE_TOO_LARGE',
    );
  });
});
