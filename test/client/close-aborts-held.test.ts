/**
 * `client.close()` gives up every lock the client holds (the session close releases them): their
 * `signal`s abort at once, not only at the local lease deadline, so no code keeps trusting a lock
 * another client can now be granted.
 */
import { expect, it } from 'vitest';
import { createEmbeddedClient } from '../../runtime/client/client.js';
import { fakeLeader } from '../server/fake-leader.js';

it('close() aborts the signals of the locks it held', async () => {
  const w = fakeLeader();
  const a = await createEmbeddedClient(w.node, w.replica, { clientId: 'a', clock: w.clock });
  const b = await createEmbeddedClient(w.node, w.replica, { clientId: 'b', clock: w.clock });
  try {
    const held = await a.lock('L', { ttlMs: 60_000 });
    await a.close();
    expect(held.signal.aborted).toBe(true);
    const next = await b.lock('L', { ttlMs: 60_000, waitMs: 1000 });
    expect(next.fenceToken).toBeGreaterThan(held.fenceToken);
  } finally {
    await b.close();
  }
});
