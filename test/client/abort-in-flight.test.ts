/**
 * A lock acquire aborted while its request is in flight (no answer yet) rejects with the abort
 * reason, not as indeterminate, once the server confirms the session neither waits for nor holds
 * the lock (docs/api.md, "Locks").
 */
import { expect, it } from 'vitest';
import { decodeCommandMessage } from '../../generated/index.js';
import { createEmbeddedClient } from '../../runtime/client/client.js';
import { decodeEnvelope } from '../../runtime/server/envelope.js';
import { fakeLeader } from '../server/fake-leader.js';

it('an acquire aborted in flight rejects with the abort reason once nothing is held', async () => {
  const w = fakeLeader();
  const client = await createEmbeddedClient(w.node, w.replica, { clientId: 'b', clock: w.clock });
  try {
    await client.put('warm', 'up');
    let inFlight = false;
    // The acquire's proposal never gets an answer (lost on the way); everything else is served.
    w.setHook((bytes) => {
      const cmd = decodeCommandMessage(decodeEnvelope(bytes)?.command ?? new Uint8Array(0));
      if (cmd.type !== 'LockAcquire') return null;
      inFlight = true;
      return new Promise(() => undefined);
    });
    const ac = new AbortController();
    const reason = new Error('caller gave up');
    const p = client.lock('L', { ttlMs: 60_000, signal: ac.signal });
    while (!inFlight) await new Promise((r) => setImmediate(r));
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
  } finally {
    w.setHook(null);
    await client.close();
  }
});
