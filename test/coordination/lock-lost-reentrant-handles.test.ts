import { describe, expect, it } from 'vitest';
import {
  CoordinationClientCore,
  CoordinationStateMachine,
  WaiterRegistry,
} from '../../runtime/coordination/index.js';

const clock = { now: () => 0, setTimer: () => 0, clearTimer: () => {} };

function rig() {
  const sm = new CoordinationStateMachine();
  const registry = new WaiterRegistry();
  sm.onEvent((e) => registry.feed(e));
  let i = 0;
  const apply = (c: Parameters<CoordinationStateMachine['applyCommand']>[0]) => sm.applyCommand(c, ++i);
  const core = new CoordinationClientCore({
    sessionId: 'a',
    registry,
    clock,
    propose: async (c) => apply(c),
  });
  return { sm, registry, apply, core };
}

/** Every re-entrant handle of a lock is told when the lock is lost, not only the last one. */
describe('re-entrant lock handles all learn that the lock was lost', () => {
  it('a lost session aborts the signal of every handle', async () => {
    const { sm, apply, core } = rig();
    await core.openSession();
    const h1 = await core.lock('L', { ttlMs: 60_000 });
    const h2 = await core.lock('L', { ttlMs: 60_000 });
    expect(h2.fenceToken).toBe(h1.fenceToken);
    apply({ type: 'SessionExpire', sessionId: 'a' });
    expect(sm.lock('L')).toBeNull();
    expect(h2.signal.aborted).toBe(true);
    expect(h1.signal.aborted).toBe(true);
    expect(h1.signal.reason).toMatchObject({ code: 'LOCK_LOST' });
  });

  it('releasing one handle keeps the other’s notification', async () => {
    const { apply, core } = rig();
    await core.openSession();
    const h1 = await core.lock('L', { ttlMs: 60_000 });
    const h2 = await core.lock('L', { ttlMs: 60_000 });
    await h2.release(); // depth 2 -> 1: h1 still holds
    expect(h2.signal.aborted).toBe(true);
    expect(h1.signal.aborted).toBe(false);
    apply({ type: 'TimeAdvance', elapsedMs: 60_000 }); // the lease ends
    expect(h1.signal.aborted).toBe(true);
    expect(h1.signal.reason).toMatchObject({ code: 'LOCK_LOST' });
  });

  it('registry: all callbacks of a lock are called once; unsubscribing removes only that one', () => {
    const registry = new WaiterRegistry();
    const calls: string[] = [];
    const lost = (n: number) => ({
      kind: 'lock_lost' as const,
      index: n,
      name: 'L',
      sessionId: 's',
      requestId: 'r',
      fenceToken: 5n,
      reason: 'lease_expired' as const,
    });
    registry.onLockLost('s', 'L', () => calls.push('one'));
    const offTwo = registry.onLockLost('s', 'L', () => calls.push('two'));
    registry.onLockLost('s', 'L', () => {
      throw new Error('a failing callback does not stop the others');
    });
    registry.onLockLost('s', 'L', () => calls.push('three'));
    registry.onLockLost('s', 'other', () => calls.push('other'));
    offTwo();
    registry.feed(lost(1));
    expect(calls).toEqual(['one', 'three']);
    registry.feed(lost(2));
    expect(calls).toEqual(['one', 'three']);
  });
});
