/**
 * A leader stopping gracefully (SIGTERM: `close({ transfer: true })`) hands over to a voter that is
 * up. Before, it took the most caught-up voter even when that one was down (on an idle cluster the
 * first in order): the leader refused writes while the transfer ran, waited its whole transfer
 * bound (3 s) and the cluster then needed a full election.
 */
import { expect, it } from 'vitest';
import { bestVoter } from '../../runtime/server/handler.js';
import { until } from '../helpers/until.js';
import { clustersClosedAfterEach } from './helpers.js';

const startCluster = clustersClosedAfterEach();

it('a leader stopping hands over to a live voter, not to one that is down', async () => {
  const cluster = await startCluster(5);
  const leader = await cluster.leader();
  await until('every follower caught up', () =>
    leader.node.status().progress.every((p) => p.id === leader.node.id || (p.match > 0 && p.live)),
  );
  // Stop the voter an idle leader would have picked first (all equally caught up).
  const first = leader.node.status().progress.find((p) => p.id !== leader.node.id)?.id as string;
  const i = cluster.ids.indexOf(first);
  await cluster.servers[i]?.close();
  cluster.servers[i] = null;
  await until(`the leader to stop counting ${first} as live`, () =>
    leader.node.status().progress.some((p) => p.id === first && !p.live),
  );

  const target = bestVoter(leader.node);
  expect(target).not.toBeNull();
  expect(target).not.toBe(first);

  const started = performance.now();
  await leader.close({ transfer: true, transferTimeoutMs: 3000 });
  const took = performance.now() - started;
  cluster.servers[cluster.ids.indexOf(leader.node.id)] = null;
  // Handed over: the leader did not wait out its transfer bound.
  expect(took).toBeLessThan(3000);
  const next = await cluster.leader();
  expect(next.node.id).toBe(target);
});

it('bestVoter finds no target when every other voter is down', async () => {
  const cluster = await startCluster(3);
  const leader = await cluster.leader();
  for (const [i, s] of cluster.servers.entries()) {
    if (s && s !== leader) {
      await s.close();
      cluster.servers[i] = null;
    }
  }
  await until('the leader to count no follower as live', () =>
    leader.node.status().progress.every((p) => p.id === leader.node.id || !p.live),
  );
  expect(bestVoter(leader.node)).toBeNull();
});
