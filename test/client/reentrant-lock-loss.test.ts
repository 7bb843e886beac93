/**
 * The public client's re-entrant lock handles share one grant: each of them learns of its loss,
 * also after another handle of the same lock was released.
 */
import { describe, expect, it } from 'vitest';
import { createEmbeddedClient } from '../../runtime/client/client.js';
import { until } from '../helpers/until.js';
import { fakeLeader } from '../server/fake-leader.js';

describe('re-entrant lock handles of the client', () => {
  it('a re-entrant handle still held is told of the session loss after another handle released (found by review)', async () => {
    const w = fakeLeader();
    const client = await createEmbeddedClient(w.node, w.replica, {
      clientId: 'c',
      clock: w.clock,
      sessionTtlMs: 300,
    });
    try {
      const h1 = await client.lock('L', { ttlMs: 60_000 });
      const h2 = await client.lock('L', { ttlMs: 60_000 });
      expect(h2.fenceToken).toBe(h1.fenceToken);
      await h1.release(); // depth 2 -> 1, h2 still holds
      const sid = w.replica.machine.lock('L')?.owner as string;
      expect(sid).toBeTruthy();
      w.applyDirect('admin', w.seq(1), { type: 'SessionExpire', sessionId: sid });
      expect(w.replica.machine.lock('L')).toBeNull();
      // The next keep-alive sees UNKNOWN_SESSION and aborts every handle of the lost session.
      await until('h2.signal aborted', () => h2.signal.aborted);
    } finally {
      await client.close();
    }
  });
});
