import { describe, expect, it } from 'vitest';
import { FenceGuard } from '../../runtime/coordination/index.js';
import { Rig } from './helpers.js';

describe('fenced locks', () => {
  it('lock_acquire_release: a lock is acquired and released', () => {
    const r = new Rig();
    r.open('a');
    const got = r.acquire('a', 'L');
    expect(got.ok).toBe(true);
    expect(got.outcome).toBe('acquired');
    expect(got.fenceToken).toBeGreaterThan(0n);
    expect(r.sm.lock('L')?.owner).toBe('a');
    const rel = r.release('a', 'L', got.fenceToken);
    expect(rel.outcome).toBe('released');
    expect(r.sm.lock('L')).toBeNull();
  });

  it('lock_contention: 3 agents contend, granted FIFO, one at a time', () => {
    const r = new Rig();
    for (const s of ['a', 'b', 'c']) r.open(s);
    const a = r.acquire('a', 'L');
    expect(r.acquire('b', 'L').position).toBe(1);
    expect(r.acquire('c', 'L').position).toBe(2);
    const order: string[] = ['a'];
    let token = a.fenceToken;
    let holder = 'a';
    for (let i = 0; i < 2; i++) {
      const before = r.events.length;
      r.release(holder, 'L', token);
      const grants = r.events.slice(before).filter((e) => e.kind === 'lock_granted');
      expect(grants).toHaveLength(1); // one holder at a time
      const g = grants[0] as Extract<(typeof grants)[number], { kind: 'lock_granted' }>;
      expect(g.fenceToken).toBeGreaterThan(token);
      holder = g.sessionId;
      token = g.fenceToken;
      order.push(holder);
      expect(r.sm.lock('L')?.owner).toBe(holder);
    }
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('lock_lease_expiry: the holder crashes and the lock is released after the lease', () => {
    const r = new Rig();
    r.open('a', 60_000);
    r.open('b', 60_000);
    const a = r.acquire('a', 'L', { ttlMs: 1000 });
    r.acquire('b', 'L');
    r.advance(999);
    expect(r.sm.lock('L')?.owner).toBe('a');
    r.advance(1);
    expect(r.sm.lock('L')?.owner).toBe('b');
    expect(r.kinds('lock_lost')).toMatchObject([
      { sessionId: 'a', reason: 'lease_expired', fenceToken: a.fenceToken },
    ]);
    // The crashed holder's late release is refused.
    r.expectRejected(
      { type: 'LockRelease', sessionId: 'a', name: 'L', fenceToken: a.fenceToken },
      'NOT_LOCK_HOLDER',
    );
  });

  it('fenced_lock_token: the second holder token is greater and the resource rejects the first', () => {
    const r = new Rig();
    r.open('a');
    r.open('b');
    const t1 = r.acquire('a', 'L').fenceToken;
    r.release('a', 'L', t1);
    const t2 = r.acquire('b', 'L').fenceToken;
    expect(t2).toBeGreaterThan(t1);
    const guard = new FenceGuard();
    guard.check('L', t2);
    expect(() => guard.check('L', t1)).toThrow(/stale/);
    expect(guard.highestSeen('L')).toBe(t2);
    expect(guard.accepts('L', t2)).toBe(true);
  });

  it('tokens keep increasing across snapshot/restore and after the idle lock record is dropped', () => {
    const r = new Rig();
    r.open('a');
    const t1 = r.acquire('a', 'L').fenceToken;
    r.release('a', 'L', t1);
    const r2 = new Rig();
    r2.sm.restore(r.sm.snapshot());
    r2.index = r.index;
    const t2 = r2.acquire('a', 'L').fenceToken;
    expect(t2).toBeGreaterThan(t1);
  });

  it('tokens keep increasing when one TimeAdvance grants a name several times and its record is then dropped', () => {
    // Found by the fence-token property: a 6 s advance expires the holder, grants the first waiter
    // (token = index), expires it, grants the second (index + 1) and expires it too. The idle
    // record is dropped; the next acquire, one entry later, must still get a larger token.
    const r = new Rig({ limits: { lockDelayMs: 300 } });
    for (const s of ['a', 'b', 'c', 'd']) r.open(s);
    r.acquire('a', 'L', { ttlMs: 2000 });
    r.acquire('b', 'L', { ttlMs: 2000 });
    r.acquire('c', 'L', { ttlMs: 500 });
    r.advance(6000);
    const tokens = r.kinds('lock_granted').map((e) => (e as { fenceToken: bigint }).fenceToken);
    expect(tokens).toHaveLength(2);
    expect(r.sm.lock('L')).toBeNull();
    const next = r.acquire('d', 'L').fenceToken;
    expect(next).toBeGreaterThan(tokens[1] as bigint);
  });

  it('one entry handing two locks on gives both the entry index, as earlier releases did', () => {
    // Replicas of different releases must agree on every token during a rolling upgrade; the
    // only change from the earlier rule is where it repeated a token (the test above).
    const r = new Rig();
    for (const s of ['a', 'b']) r.open(s);
    r.acquire('a', 'L1');
    r.acquire('a', 'L2');
    r.acquire('b', 'L1', { waitMs: 10_000 });
    r.acquire('b', 'L2', { waitMs: 10_000 });
    r.ok({ type: 'SessionClose', sessionId: 'a' });
    const granted = r.kinds('lock_granted').map((e) => (e as { fenceToken: bigint }).fenceToken);
    expect(granted).toEqual([BigInt(r.index), BigInt(r.index)]);
  });

  it('is re-entrant per session with depth and the same token', () => {
    const r = new Rig();
    r.open('a');
    r.open('b');
    const t = r.acquire('a', 'L').fenceToken;
    const again = r.acquire('a', 'L');
    expect(again.fenceToken).toBe(t);
    expect(again.position).toBe(2);
    expect(r.sm.lock('L')?.reentrantDepth).toBe(2);
    r.acquire('b', 'L');
    expect(r.release('a', 'L', t).position).toBe(1);
    expect(r.sm.lock('L')?.owner).toBe('a');
    r.release('a', 'L', t);
    expect(r.sm.lock('L')?.owner).toBe('b');
  });

  it('try-lock fails with LOCK_BUSY instead of queueing', () => {
    const r = new Rig();
    r.open('a');
    r.open('b');
    r.acquire('a', 'L');
    r.expectRejected(
      { type: 'LockAcquire', sessionId: 'b', name: 'L', requestId: 'x', ttlMs: 0, waitMs: 0, tryOnly: true },
      'LOCK_BUSY',
    );
    expect(r.acquire('b', 'M', { tryOnly: true }).outcome).toBe('acquired');
  });

  it('a timed wait ends with wait_timeout and leaves the queue', () => {
    const r = new Rig();
    r.open('a', 100_000);
    r.open('b', 100_000);
    r.acquire('a', 'L');
    r.acquire('b', 'L', { waitMs: 500, requestId: 'rb' });
    r.advance(499);
    expect(r.sm.lock('L')?.queue).toHaveLength(1);
    r.advance(1);
    expect(r.sm.lock('L')?.queue).toHaveLength(0);
    expect(r.kinds('lock_wait_ended')).toMatchObject([
      { sessionId: 'b', requestId: 'rb', reason: 'wait_timeout' },
    ]);
  });

  it('a queued request can be cancelled with token 0', () => {
    const r = new Rig();
    r.open('a');
    r.open('b');
    const t = r.acquire('a', 'L').fenceToken;
    r.acquire('b', 'L');
    expect(r.release('b', 'L', 0n).outcome).toBe('cancelled');
    r.release('a', 'L', t);
    expect(r.sm.lock('L')).toBeNull();
    expect(r.kinds('lock_granted')).toHaveLength(0);
  });

  it('renew extends the lease from now', () => {
    const r = new Rig();
    r.open('a', 100_000);
    const t = r.acquire('a', 'L', { ttlMs: 1000 }).fenceToken;
    r.advance(800);
    expect(r.apply({ type: 'LockRenew', sessionId: 'a', name: 'L', fenceToken: t }).outcome).toBe('renewed');
    r.advance(900);
    expect(r.sm.lock('L')?.owner).toBe('a');
    r.advance(100);
    expect(r.sm.lock('L')).toBeNull();
  });

  it('after an expiry (not a release) the next grant waits the lock delay', () => {
    const r = new Rig({ limits: { lockDelayMs: 500 } });
    for (const s of ['a', 'b', 'c']) r.open(s, 100_000);
    r.acquire('a', 'L', { ttlMs: 1000 });
    r.acquire('b', 'L', { ttlMs: 1000 });
    r.advance(1000); // a expires
    expect(r.sm.lock('L')?.owner).toBeNull();
    expect(r.sm.lock('L')?.delayUntilMs).toBe(1500);
    r.advance(499);
    expect(r.sm.lock('L')?.owner).toBeNull();
    r.advance(1);
    expect(r.sm.lock('L')?.owner).toBe('b');
    const tb = r.sm.lock('L')?.fenceToken as bigint;
    r.acquire('c', 'L');
    r.release('b', 'L', tb); // a release: no delay
    expect(r.sm.lock('L')?.owner).toBe('c');
  });

  it('events in one TimeAdvance fire in time order (a grant before a later wait deadline)', () => {
    const r = new Rig();
    r.open('a', 100_000);
    r.open('b', 100_000);
    r.acquire('a', 'L', { ttlMs: 100 });
    r.acquire('b', 'L', { waitMs: 200 });
    r.advance(10_000);
    // b is granted at 100, before its wait deadline at 200, so its wait never times out.
    expect(r.kinds('lock_wait_ended')).toHaveLength(0);
    expect(r.kinds('lock_granted')).toMatchObject([{ sessionId: 'b' }]);
  });

  it('session expiry releases held locks and cancels waits; keepalive restores the TTL', () => {
    const r = new Rig();
    r.open('a', 1000);
    r.open('b', 5000);
    r.acquire('a', 'L', { ttlMs: 60_000 });
    r.acquire('b', 'L', { ttlMs: 60_000 });
    r.advance(900);
    r.ok({ type: 'SessionKeepAlive', sessionId: 'a' });
    expect(r.sm.sessionRemainingMs('a')).toBe(1000);
    r.advance(999);
    expect(r.sm.lock('L')?.owner).toBe('a');
    r.advance(1);
    expect(r.sm.sessionRemainingMs('a')).toBeNull();
    expect(r.sm.lock('L')?.owner).toBe('b');
    expect(r.kinds('session_ended')).toMatchObject([{ sessionId: 'a', reason: 'expired' }]);
    r.expectRejected(
      { type: 'LockAcquire', sessionId: 'a', name: 'L', requestId: 'z', ttlMs: 0, waitMs: 0, tryOnly: false },
      'UNKNOWN_SESSION',
    );
  });

  it('remaining TTL survives a leader change: only committed time counts', () => {
    const r = new Rig();
    r.open('a', 1000);
    r.advance(400);
    // New leader = another replica restored from the log/snapshot; wall time spent electing is not committed.
    const r2 = new Rig();
    r2.sm.restore(r.sm.snapshot());
    r2.index = r.index;
    expect(r2.sm.sessionRemainingMs('a')).toBe(600);
    r2.advance(599);
    expect(r2.sm.sessionRemainingMs('a')).toBe(1);
  });

  it('SessionClose releases without lock delay; waiters of the closed session are cancelled', () => {
    const r = new Rig({ limits: { lockDelayMs: 500 } });
    for (const s of ['a', 'b', 'c']) r.open(s);
    r.acquire('a', 'L');
    r.acquire('b', 'M');
    r.acquire('a', 'M', { requestId: 'am' });
    r.acquire('c', 'L');
    r.ok({ type: 'SessionClose', sessionId: 'a' });
    expect(r.sm.lock('L')?.owner).toBe('c');
    expect(r.sm.lock('M')?.queue).toHaveLength(0);
    expect(r.kinds('lock_wait_ended')).toMatchObject([
      { sessionId: 'a', requestId: 'am', reason: 'session_lost' },
    ]);
  });

  it('SessionExpire (leader decision) applies the lock delay', () => {
    const r = new Rig({ limits: { lockDelayMs: 500 } });
    r.open('a');
    r.open('b');
    r.acquire('a', 'L');
    r.acquire('b', 'L');
    r.ok({ type: 'SessionExpire', sessionId: 'a' });
    expect(r.sm.lock('L')?.owner).toBeNull();
    r.advance(500);
    expect(r.sm.lock('L')?.owner).toBe('b');
  });

  describe('bad input: typed error, clear message, nothing changed', () => {
    const setup = () => {
      const r = new Rig({ limits: { lockQueueMax: 2, maxConcurrentLocks: 3 } });
      for (const s of ['a', 'b', 'c', 'd']) r.open(s);
      const t = r.acquire('a', 'L').fenceToken;
      return { r, t };
    };
    it('unknown lock name', () => {
      const { r } = setup();
      r.expectRejected({ type: 'LockRelease', sessionId: 'a', name: 'nope', fenceToken: 5n }, 'UNKNOWN_LOCK');
      r.expectRejected({ type: 'LockRenew', sessionId: 'a', name: 'nope', fenceToken: 5n }, 'UNKNOWN_LOCK');
    });
    it('releasing a lock one does not hold', () => {
      const { r, t } = setup();
      r.expectRejected({ type: 'LockRelease', sessionId: 'b', name: 'L', fenceToken: t }, 'NOT_LOCK_HOLDER');
    });
    it('a stale token', () => {
      const { r, t } = setup();
      r.expectRejected(
        { type: 'LockRelease', sessionId: 'a', name: 'L', fenceToken: t - 1n },
        'STALE_FENCE_TOKEN',
      );
      r.expectRejected(
        { type: 'LockRenew', sessionId: 'a', name: 'L', fenceToken: t + 1n },
        'STALE_FENCE_TOKEN',
      );
    });
    it('too many waiters', () => {
      const { r } = setup();
      r.acquire('b', 'L');
      r.acquire('c', 'L');
      r.expectRejected(
        {
          type: 'LockAcquire',
          sessionId: 'd',
          name: 'L',
          requestId: 'q',
          ttlMs: 0,
          waitMs: 0,
          tryOnly: false,
        },
        'LOCK_QUEUE_FULL',
      );
    });
    it('too many locks', () => {
      const { r } = setup();
      r.acquire('a', 'M');
      r.acquire('a', 'N');
      r.expectRejected(
        {
          type: 'LockAcquire',
          sessionId: 'a',
          name: 'O',
          requestId: 'q',
          ttlMs: 0,
          waitMs: 0,
          tryOnly: false,
        },
        'TOO_MANY_LOCKS',
      );
    });
    it('oversized and empty names, bad numbers, unknown session, duplicate session', () => {
      const { r } = setup();
      const long = 'x'.repeat(513);
      r.expectRejected(
        {
          type: 'LockAcquire',
          sessionId: 'a',
          name: long,
          requestId: 'q',
          ttlMs: 0,
          waitMs: 0,
          tryOnly: false,
        },
        'NAME_TOO_LONG',
      );
      r.expectRejected(
        {
          type: 'LockAcquire',
          sessionId: 'a',
          name: '',
          requestId: 'q',
          ttlMs: 0,
          waitMs: 0,
          tryOnly: false,
        },
        'INVALID_ARGUMENT',
      );
      r.expectRejected(
        {
          type: 'LockAcquire',
          sessionId: 'a',
          name: 'P',
          requestId: 'q',
          ttlMs: -1,
          waitMs: 0,
          tryOnly: false,
        },
        'INVALID_ARGUMENT',
      );
      r.expectRejected(
        {
          type: 'LockAcquire',
          sessionId: 'zz',
          name: 'P',
          requestId: 'q',
          ttlMs: 0,
          waitMs: 0,
          tryOnly: false,
        },
        'UNKNOWN_SESSION',
      );
      r.expectRejected({ type: 'SessionOpen', sessionId: 'a', clientId: 'a', ttlMs: 0 }, 'SESSION_EXISTS');
      r.expectRejected({ type: 'SessionOpen', sessionId: long, clientId: 'a', ttlMs: 0 }, 'NAME_TOO_LONG');
      r.expectRejected({ type: 'TimeAdvance', elapsedMs: 1.5 }, 'INVALID_ARGUMENT');
    });
    it('a repeated or older log index', () => {
      const { r } = setup();
      const snap = Buffer.from(r.sm.snapshot());
      const res = r.sm.applyCommand({ type: 'TimeAdvance', elapsedMs: 5 }, r.index);
      expect(res.errorCode).toBe('STALE_INDEX');
      expect(Buffer.compare(snap, Buffer.from(r.sm.snapshot()))).toBe(0);
    });
  });
});
