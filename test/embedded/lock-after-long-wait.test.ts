/**
 * A lock granted after a server-side wait longer than its TTL is usable for about a TTL. The lease
 * runs from the grant, but the client can only place the grant after its request went out: before,
 * it counted the lease from the request, so a wait longer than the TTL aborted the lock's signal at
 * once (and `consensus lock NAME -- COMMAND` killed COMMAND as it started). The client now renews
 * such a grant and counts from the renewal, and the signal still aborts before the next holder's
 * grant. Virtual time.
 */
import { expect, it } from 'vitest';
import { drive, startSimCluster } from './sim-cluster.js';

it('a lock granted after waiting 3 TTLs keeps its lease for about a TTL, and loses it before the next grant', async () => {
  const { world, nodes, leader } = await startSimCluster(5);
  const [a, b, c] = await drive(
    world,
    Promise.all(['a', 'b', 'c'].map((clientId) => leader.client({ clientId }))),
  );
  const held = await drive(world, (a as NonNullable<typeof a>).lock('x', { ttlMs: 60_000 }));
  const bLock = (b as NonNullable<typeof b>).lock('x', { ttlMs: 1000 });
  await world.runFor(3000);
  await drive(world, held.release());
  const granted = await drive(world, bLock);
  const grantedAt = world.now();
  let abortedAt = Number.POSITIVE_INFINITY;
  granted.signal.addEventListener('abort', () => {
    abortedAt = world.now();
  });
  expect(granted.signal.aborted).toBe(false);
  // B never renews: C gets the lock once B's lease has ended on the server.
  await drive(world, (c as NonNullable<typeof c>).lock('x', { ttlMs: 1000, waitMs: 10_000 }));
  const cGrantedAt = world.now();
  expect(abortedAt - grantedAt).toBeGreaterThan(600);
  expect(abortedAt).toBeLessThan(cGrantedAt);
  await drive(world, Promise.all(nodes.map((n) => n.close())));
}, 60_000);
