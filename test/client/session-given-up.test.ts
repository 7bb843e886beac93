/**
 * A client whose session cannot be kept alive (the cluster stopped answering) gives the session up
 * once a whole TTL passed without an acknowledged keepalive: a lock wait of that session, which no
 * event will ever end, rejects as SESSION_LOST (its grant, if any, expires with the session on
 * the cluster), instead of staying pending forever.
 */
import { expect, it } from 'vitest';
import { createEmbeddedClient } from '../../runtime/client/client.js';
import { CoordinationError } from '../../runtime/coordination/errors.js';
import { until } from '../helpers/until.js';
import { fakeLeader } from '../server/fake-leader.js';

it('a lock wait ends as SESSION_LOST when no keepalive is acknowledged for a session TTL', async () => {
  const w = fakeLeader();
  const holder = await createEmbeddedClient(w.node, w.replica, { clientId: 'a', clock: w.clock });
  const waiter = await createEmbeddedClient(w.node, w.replica, {
    clientId: 'b',
    clock: w.clock,
    sessionTtlMs: 300,
    timeoutMs: 200,
  });
  try {
    await holder.lock('L', { ttlMs: 60_000 });
    await waiter.put('warm', 'up'); // b's own first call
    const wait = waiter.lock('L', { ttlMs: 60_000 }); // queued behind a, forever by default
    await until('b queued behind a', () => w.replica.machine.lock('L')?.queue.length === 1);
    // From now on the cluster answers nothing.
    w.setHook(() => new Promise(() => undefined));
    const err = await wait.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CoordinationError);
    expect((err as CoordinationError).code).toBe('SESSION_LOST');
  } finally {
    w.setHook(null);
    await Promise.allSettled([holder.close(), waiter.close()]);
  }
}, 10_000);
