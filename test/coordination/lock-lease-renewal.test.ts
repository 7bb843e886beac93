import { describe, expect, it } from 'vitest';
import {
  CoordinationClientCore,
  CoordinationStateMachine,
  WaiterRegistry,
} from '../../runtime/coordination/index.js';
import { Rig } from './helpers.js';

/**
 * A re-entrant acquire may extend the lease (it is never shortened). A renewal by any handle of
 * the holder must not pull the lease back below what another handle was promised: otherwise a
 * waiter is granted while that handle still believes it holds the lock.
 */
describe('a lock renewal never shortens the lease', () => {
  const setup = () => {
    const r = new Rig({ limits: { lockDelayMs: 0 } });
    r.open('a', 300_000);
    r.open('b', 300_000);
    return r;
  };

  it('renew after a re-entrant acquire with a longer TTL keeps the longer lease; the waiter waits for it', () => {
    const r = setup();
    const first = r.acquire('a', 'L', { ttlMs: 1000 });
    r.acquire('a', 'L', { ttlMs: 60_000 }); // re-entrant, promises a 60 s lease
    expect(r.sm.lock('L')?.leaseExpiryMs).toBe(60_000);
    expect(r.acquire('b', 'L').outcome).toBe('queued');
    // The 1 s handle renews (same token): the 60 s promise still stands.
    r.ok({ type: 'LockRenew', sessionId: 'a', name: 'L', fenceToken: first.fenceToken });
    expect(r.sm.lock('L')?.leaseExpiryMs).toBe(60_000);
    r.advance(59_999);
    expect(r.sm.lock('L')?.owner).toBe('a');
    expect(r.kinds('lock_granted')).toEqual([]);
    r.advance(1);
    expect(r.sm.lock('L')?.owner).toBe('b');
  });

  it('later renewals extend by the longest TTL of the holder’s acquires', () => {
    const r = setup();
    const first = r.acquire('a', 'L', { ttlMs: 1000 });
    r.acquire('a', 'L', { ttlMs: 60_000 });
    r.advance(30_000);
    r.ok({ type: 'LockRenew', sessionId: 'a', name: 'L', fenceToken: first.fenceToken });
    expect(r.sm.lock('L')?.leaseExpiryMs).toBe(90_000);
  });

  it('a re-entrant acquire with a shorter TTL shortens neither the lease nor later renewals', () => {
    const r = setup();
    const first = r.acquire('a', 'L', { ttlMs: 60_000 });
    r.acquire('a', 'L', { ttlMs: 1000 });
    expect(r.sm.lock('L')?.leaseExpiryMs).toBe(60_000);
    r.advance(10_000);
    r.ok({ type: 'LockRenew', sessionId: 'a', name: 'L', fenceToken: first.fenceToken });
    expect(r.sm.lock('L')?.leaseExpiryMs).toBe(70_000);
  });

  it('client core: renewing the short handle keeps the server lease beyond the long handle’s local deadline', async () => {
    const sm = new CoordinationStateMachine({ limits: { lockDelayMs: 0 } });
    const registry = new WaiterRegistry();
    sm.onEvent((e) => registry.feed(e));
    let i = 0;
    let now = 0;
    const clock = { now: () => now, setTimer: () => 0, clearTimer: () => {} };
    const core = new CoordinationClientCore({
      sessionId: 'a',
      registry,
      clock,
      propose: async (c) => sm.applyCommand(c, ++i),
    });
    await core.openSession(300_000);
    const short = await core.lock('L', { ttlMs: 1000 });
    const long = await core.lock('L', { ttlMs: 60_000 });
    expect(long.fenceToken).toBe(short.fenceToken);
    now = 500;
    sm.applyCommand({ type: 'TimeAdvance', elapsedMs: 500 }, ++i);
    await short.renew();
    // `long` believes it holds L until about 60 000 (its grant + TTL); the server must agree.
    expect(sm.lock('L')?.leaseExpiryMs).toBeGreaterThanOrEqual(60_000);
  });
});
