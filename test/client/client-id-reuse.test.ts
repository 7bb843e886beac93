/**
 * A client may reuse the `clientId` of an earlier client (a restarted worker with a stable id).
 * Its sessions and lock requests must still be its own: before, session ids were `clientId/n` and
 * lock request ids `session/k`, so the second client reopened the first one's session id and the
 * member answered its lock request with the outcome it remembered for the first client's request
 * of the same id: a grant (with an old fence token) of a lock somebody else held.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import type { Server } from '../../runtime/server/server.js';
import { until } from '../helpers/until.js';
import { type SoloServer, startSoloServer } from '../server/helpers.js';

describe('clients that reuse a clientId', () => {
  let solo: SoloServer;
  let s: Server;
  let endpoints: string[];
  beforeAll(async () => {
    solo = await startSoloServer();
    s = solo.server;
    endpoints = [solo.endpoint];
  });
  afterAll(() => solo?.close());

  it('a later client with the same id is never handed the earlier one’s grant', async () => {
    const holder = await connect({ endpoints, clientId: 'holder' });
    try {
      // The first worker waits, is granted after the holder's release, releases, and exits.
      let held = await holder.lock('L');
      const first = await connect({ endpoints, clientId: 'worker' });
      const firstWait = first.lock('L');
      await until('the first worker waits', () => s.status().waitingRequests === 1);
      await held.release();
      const firstLock = await firstWait;
      await firstLock.release();
      await first.close();
      // The holder takes the lock again; the restarted worker (same id) must wait for it.
      held = await holder.lock('L');
      expect(held.fenceToken).toBeGreaterThan(firstLock.fenceToken);
      const second = await connect({ endpoints, clientId: 'worker' });
      try {
        const ac = new AbortController();
        const secondWait = second.lock('L', { signal: ac.signal }).then(
          (l) => `granted ${l.fenceToken}`,
          (e: Error) => e.message,
        );
        await until('the restarted worker waits', () => s.status().waitingRequests === 1);
        ac.abort(new Error('gave up'));
        expect(await secondWait).toBe('gave up');
      } finally {
        await second.close();
      }
      await held.release();
    } finally {
      await holder.close();
    }
  });

  it('aborted waits of successive clients with one id each end with their own abort reason', async () => {
    const holder = await connect({ endpoints, clientId: 'holder2' });
    try {
      const held = await holder.lock('M');
      const outcomes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const w = await connect({ endpoints, clientId: 'worker2' });
        try {
          const ac = new AbortController();
          const p = w.lock('M', { signal: ac.signal }).then(
            () => 'granted',
            (e: Error) => e.message,
          );
          await until('the worker waits', () => s.status().waitingRequests === 1);
          ac.abort(new Error(`abort ${i}`));
          outcomes.push(await p);
        } finally {
          await w.close();
        }
      }
      expect(outcomes).toEqual(['abort 0', 'abort 1', 'abort 2']);
      await held.release();
    } finally {
      await holder.close();
    }
  });

  it('any election handle of the winning client resigns (not only the one that campaigned)', async () => {
    const a = await connect({ endpoints });
    const b = await connect({ endpoints });
    try {
      await a.election('e').campaign('a'); // the handle is dropped, as in the README
      const bWon = b.election('e').campaign('b');
      await until('b is a candidate', () => s.status().waitingRequests === 1);
      await a.election('e').resign();
      expect((await bWon).epoch).toBeGreaterThan(0n);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
