/**
 * A grant answered after a long server-side wait is renewed before `lock()` hands it out (its
 * lease is then counted from the renewal). A loss of that grant while the renewal is in flight
 * (the lease or the session ended on the cluster) must not go unseen: `lock()` rejects instead of
 * handing out a lock whose signal would stay quiet for up to a TTL. Found by review.
 */
import { expect, it } from 'vitest';
import { CoordinationClientCore } from '../../runtime/coordination/client-core.js';
import type { CommandResult } from '../../runtime/coordination/types.js';
import { WaiterRegistry } from '../../runtime/coordination/waiter-registry.js';

function setup() {
  let now = 0;
  const clock = {
    now: () => now,
    setTimer: (_ms: number, _fn: () => void) => ({}),
    clearTimer: () => undefined,
  };
  const registry = new WaiterRegistry();
  let renewed!: (r: CommandResult) => void;
  const sent: string[] = [];
  const core = new CoordinationClientCore({
    sessionId: 's1',
    registry,
    clock,
    propose: async (cmd) => {
      sent.push(cmd.type);
      if (cmd.type === 'LockAcquire') {
        now += 8000; // granted after a wait of most of the TTL
        return { ok: true, outcome: 'acquired', fenceToken: 7n } as CommandResult;
      }
      if (cmd.type === 'LockRenew') return new Promise<CommandResult>((r) => (renewed = r));
      return { ok: true } as CommandResult;
    },
  });
  return { core, registry, sent, renew: (r: CommandResult) => renewed(r) };
}

it('lock() rejects when the grant is lost while its renewal is in flight', async () => {
  const { core, registry, sent, renew } = setup();
  const p = core.lock('x', { ttlMs: 10_000 });
  await new Promise((r) => setImmediate(r));
  expect(sent).toEqual(['LockAcquire', 'LockRenew']);
  registry.feed({
    kind: 'lock_lost',
    index: 0,
    name: 'x',
    sessionId: 's1',
    requestId: '',
    fenceToken: 7n,
    reason: 'session_expired',
  } as never);
  renew({ ok: true, outcome: 'renewed', fenceToken: 7n } as CommandResult);
  await expect(p).rejects.toMatchObject({ code: 'LOCK_LOST' });
});

it('without a loss the renewed lock is handed out with its signal live', async () => {
  const { core, sent, renew } = setup();
  const p = core.lock('x', { ttlMs: 10_000 });
  await new Promise((r) => setImmediate(r));
  renew({ ok: true, outcome: 'renewed', fenceToken: 7n } as CommandResult);
  const held = await p;
  expect({ sent, aborted: held.signal.aborted }).toEqual({
    sent: ['LockAcquire', 'LockRenew'],
    aborted: false,
  });
});
