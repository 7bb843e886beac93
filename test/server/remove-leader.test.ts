/**
 * Removing the member that leads hands leadership over first. Before, the leader stepped down when
 * the change committed with no successor, and the cluster waited a full election timeout (a
 * review measured a 1.2 s write gap, against about 0.1 s for a SIGTERM handover).
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import { until } from '../helpers/until.js';
import { clustersClosedAfterEach } from './helpers.js';

const startCluster = clustersClosedAfterEach();

it('removing the leader hands leadership to another voter (TimeoutNow), then removes it', async () => {
  const lines: { node?: string; msg: string; event?: string; to?: string }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const cluster = await startCluster(3, { logger: pino({ level: 'info', base: null }, sink) });
  const leader = await cluster.leader();
  await until('every follower heard from', () =>
    leader.node.status().progress.every((p) => p.id === leader.node.id || (p.match > 0 && p.live)),
  );
  const client = await connect({ endpoints: cluster.endpoints, timeoutMs: 10_000 });
  try {
    await client.changeMembership({ changeType: 'remove_node', nodeId: leader.node.id, address: '' });
    const next = await until('a new leader', () =>
      cluster.servers.find((s) => s && s !== leader && s.node.status().role === 'leader'),
    );
    await until('the removal applied on the new leader', () =>
      next.node.status().config.voters.every((v) => v !== leader.node.id),
    );
    // It won through the handover, not through an election after a timeout (its last candidacy;
    // it may have stood in the first election too).
    const stood = lines.filter(
      (l) => l.node === next.node.id && l.msg === 'role change' && l.to === 'candidate',
    );
    expect(stood.at(-1)?.event).toBe('timeout_now');
    await client.put('after', 'x');
  } finally {
    await client.close();
  }
});

it('removing the leader through a client that knows only the leader succeeds (the new leader does not refuse it before it has heard the voters)', async () => {
  // A review: the client's retry reached the new leader within ~15 ms of the handover, before it
  // had heard from the other voters, and got a final no_live_quorum in a healthy cluster.
  const cluster = await startCluster(3);
  const leader = await cluster.leader();
  await until('every follower heard from', () =>
    leader.node.status().progress.every((p) => p.id === leader.node.id || (p.match > 0 && p.live)),
  );
  const only = cluster.endpoints[cluster.servers.indexOf(leader)] as string;
  const client = await connect({ endpoints: [only], timeoutMs: 10_000 });
  try {
    await client.changeMembership({ changeType: 'remove_node', nodeId: leader.node.id, address: '' });
    const next = await until('a new leader without the old one', () =>
      cluster.servers.find(
        (s) =>
          s &&
          s !== leader &&
          s.node.status().role === 'leader' &&
          !s.node.status().config.voters.includes(leader.node.id),
      ),
    );
    expect(next.node.status().config.voters).toHaveLength(2);
  } finally {
    await client.close();
  }
});
