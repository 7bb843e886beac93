/**
 * An operator empties a voter's data dir and starts it again with --join, skipping `members
 * remove`/`add`. A review lost 591 acknowledged writes that way: the emptied member voted at once
 * for a lagging member, which then overwrote what the emptied member had helped commit. Now a member
 * started on an empty dir to join grants no votes until it has found itself added as a newcomer
 * (RaftConfig.freshJoin; the raft-level cases are in test/raft/fresh-join.test.ts). Started again
 * with the static member list instead (a plain restart), it votes only for candidates with an empty
 * log until it has caught up (RaftConfig.freshBootstrap, test/raft/fresh-bootstrap.test.ts).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import { startServer } from '../../runtime/server/server.js';
import { until } from '../helpers/until.js';
import { clustersClosedAfterEach, FAST, freePorts } from './helpers.js';

const startCluster = clustersClosedAfterEach();

it.each([
  ['with --join', true],
  ['with the static member list', false],
])(
  'a voter back %s on an emptied data dir does not elect a lagging member: acknowledged writes survive',
  async (_how, join_) => {
    const cluster = await startCluster(3);
    const leader = await cluster.leader();
    // Every member has heard the leader (its start on an empty dir is judged): the lagger must lag
    // with a log, not be a member that never heard anyone. An emptied member and one that never
    // received an entry can elect each other, a case this rule cannot catch (docs/operations.md);
    // under a loaded test run the lagger was sometimes stopped before the leader's first append
    // reached it (the emptied member then won, or with --join no one could).
    await until('every member has heard the leader', () =>
      cluster.servers.every((s) => s?.status().joinCheck === 'ok'),
    );
    const li = cluster.servers.indexOf(leader);
    const [lagI, wipedI] = [0, 1, 2].filter((i) => i !== li) as [number, number];
    const stop = async (i: number) => {
      await cluster.servers[i]?.close();
      cluster.servers[i] = null;
    };
    await stop(lagI);
    const client = await connect({ endpoints: cluster.endpoints, timeoutMs: 5000 });
    const written = Array.from({ length: 20 }, (_, i) => `v${i}`);
    for (const [i, v] of written.entries()) await client.put(`k${i}`, v);
    await client.close();

    // Only the leader and the member about to be emptied hold the writes.
    await stop(li);
    await stop(wipedI);
    rmSync(cluster.dirs[wipedI] as string, { recursive: true, force: true });
    const peers = new Map(
      cluster.ids.map((id, i) => [id, { host: '127.0.0.1', port: cluster.ports[i] as number }]),
    );
    const wiped = await startServer({
      id: cluster.ids[wipedI] as string,
      listen: { host: '127.0.0.1', port: cluster.ports[wipedI] as number },
      peers,
      dataDir: cluster.dirs[wipedI] as string,
      join: join_,
      config: FAST,
    });
    cluster.servers[wipedI] = wiped;
    const lagger = await cluster.start(lagI);
    // A window of ten election timeouts, in which the emptied member's vote used to elect the lagger
    // (a negative outcome needs a window; the deterministic cases are in the raft test).
    await new Promise((r) => setTimeout(r, 10 * FAST.electionTimeoutMaxMs));
    expect(lagger.node.status().role).not.toBe('leader');
    expect(wiped.node.status().role).not.toBe('leader');
    expect(wiped.status().joinCheck).toBe('pending');
    const marker = join(cluster.dirs[wipedI] as string, 'JOINING');
    expect(JSON.parse(readFileSync(marker, 'utf8')).mode).toBe(join_ ? 'join' : 'bootstrap');

    await cluster.start(li);
    const reader = await connect({ endpoints: cluster.endpoints, timeoutMs: 10000 });
    try {
      for (const [i, v] of written.entries()) {
        const got = await reader.get(`k${i}`);
        expect(got.value === null ? null : new TextDecoder().decode(got.value), `k${i}`).toBe(v);
      }
    } finally {
      await reader.close();
    }
    if (!join_) {
      // Caught up, it votes as usual again (a --join member stays unjudged: it was never added).
      await until('caught up', () => wiped.status().joinCheck === 'ok');
      await until('the JOINING marker removed', () => !existsSync(marker));
    }
  },
);

it('a newcomer started with --join and then added directly as a voter is judged a newcomer', async () => {
  // A review: the leader learned the newcomer's address only at its next 100 ms tick, so its first
  // append (sent with the joint configuration) was dropped; by the time the newcomer heard from it
  // the change had committed, and the newcomer judged itself a voter whose log was lost.
  const cluster = await startCluster(3);
  await cluster.leader();
  const [port] = (await freePorts(1)) as [number];
  const dir = join(dirname(cluster.dirs[0] as string), 'newcomer');
  const peers = new Map(
    cluster.ids.map((id, i) => [id, { host: '127.0.0.1', port: cluster.ports[i] as number }]),
  );
  const d = await startServer({
    id: 'd',
    listen: { host: '127.0.0.1', port },
    peers,
    dataDir: dir,
    join: true,
    config: FAST,
  });
  const client = await connect({ endpoints: cluster.endpoints, timeoutMs: 10_000 });
  try {
    await client.put('x', 'y');
    // Not announced to the members, which do not know it yet (they would refuse its handshakes).
    for (const s of cluster.servers)
      expect(s?.network.metrics().rejectedByReason['unknown-peer'] ?? 0).toBe(0);
    await client.changeMembership({ changeType: 'add_voter', nodeId: 'd', address: `127.0.0.1:${port}` });
    const verdict = await until('d judged', () => d.status().joinCheck !== 'pending' && d.status().joinCheck);
    expect(verdict).toBe('ok');
    await until('the JOINING marker removed', () => !existsSync(join(dir, 'JOINING')));
  } finally {
    await client.close();
    await d.close();
  }
});
