/**
 * A held lock's `signal` aborts BEFORE another client can be granted the lock (docs/api.md). The
 * server counts a lease in committed time, whose latest advance was proposed up to one
 * SESSION_CHECK_INTERVAL_MS before the acquire was even sent (and after an idle spell the advance
 * that resumes time counts from the tick before the proposal). So the server-side lease can end up
 * to one tick earlier than `send + ttl`; the client's local deadline must allow for that. Checked
 * in virtual time, at every phase of the acquire against the leader's tick, after an idle spell
 * and on a busy cluster.
 */
import { describe, expect, it } from 'vitest';
import type { Client } from '../../runtime/client/client.js';
import { drive, startSimCluster } from './sim-cluster.js';

/** Virtual ms between A's signal aborting and B's grant (positive: A knew first). */
async function margin(seed: number, offsetMs: number, busy: boolean): Promise<number> {
  const { world, nodes, leader } = await startSimCluster(seed);
  const a: Client = await drive(world, leader.client({ clientId: 'a' }));
  const b: Client = await drive(world, leader.client({ clientId: 'b' }));
  // A session alone keeps time committing; without one the cluster idles and drops time.
  const busyHolder = busy ? await drive(world, leader.client({ clientId: 'busy' })) : null;
  if (busyHolder) await drive(world, busyHolder.lock('other', { ttlMs: 60_000 }));
  await world.runFor(3000 + offsetMs);
  const held = await drive(world, a.lock('x', { ttlMs: 1000 }));
  let abortedAt = Number.POSITIVE_INFINITY;
  held.signal.addEventListener('abort', () => {
    abortedAt = world.now();
  });
  // A never renews: B gets the lock once A's lease has ended on the server.
  await drive(world, b.lock('x', { ttlMs: 1000, waitMs: 5000 }));
  const grantedAt = world.now();
  await drive(world, Promise.all(nodes.map((n) => n.close())));
  return grantedAt - abortedAt;
}

describe('a lock signal aborts before the next holder is granted', () => {
  for (const busy of [false, true]) {
    it(`${busy ? 'on a busy cluster' : 'after an idle spell'}, at every phase of the leader's tick`, async () => {
      const margins: number[] = [];
      for (let offset = 0; offset < 100; offset += 10) margins.push(await margin(11, offset, busy));
      expect(Math.min(...margins), `margins ${margins.join(', ')}`).toBeGreaterThan(0);
    }, 60_000);
  }
});
