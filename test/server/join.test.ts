/**
 * Joining a running cluster with real servers (docs/operations.md, "Membership"): a member started
 * with `join` and the existing members in `peers` catches up as a learner and is promoted to a
 * voter; one started with `join` but no other member to talk to is refused up front, since it
 * could never answer the leader.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Server, startServer } from '../../runtime/server/server.js';
import { until } from '../helpers/until.js';
import { FAST, freePorts, startTestCluster, type TestCluster } from './helpers.js';

describe('consensus serve --join', () => {
  let c: TestCluster | null = null;
  let d: Server | null = null;
  let root = '';
  afterEach(async () => {
    await d?.close();
    await c?.close();
    if (root) rmSync(root, { recursive: true, force: true });
    d = null;
    c = null;
  });

  it('without the existing members in peers it is refused at start, naming what is missing', async () => {
    const [port] = await freePorts(1);
    root = mkdtempSync(join(tmpdir(), 'vibee-join-'));
    await expect(
      startServer({
        id: 'd',
        listen: { host: '127.0.0.1', port: port as number },
        peers: new Map([['d', { host: '127.0.0.1', port: port as number }]]),
        dataDir: join(root, 'd'),
        join: true,
        config: FAST,
      }),
    ).rejects.toThrow(/peers must name the existing members/);
  });

  it('with them, it catches up as a learner, is promoted, and a second voter change follows at once', async () => {
    c = await startTestCluster(3);
    const leader = await c.leader();
    await leader.node.propose(new TextEncoder().encode('x'));
    const [port] = await freePorts(1);
    root = mkdtempSync(join(tmpdir(), 'vibee-join-'));
    const peers = new Map(c.ids.map((id, i) => [id, { host: '127.0.0.1', port: c?.ports[i] as number }]));
    d = await startServer({
      id: 'd',
      listen: { host: '127.0.0.1', port: port as number },
      peers,
      dataDir: join(root, 'd'),
      join: true,
      config: FAST,
    });
    const joiner = d;
    await leader.node.changeMembership({
      changeType: 'add_learner',
      nodeId: 'd',
      address: `127.0.0.1:${port}`,
    });
    const target = leader.node.status().commitIndex;
    await until('the learner to catch up', () => joiner.node.status().appliedIndex >= target, 5000);
    // Promotion checks the leader's view of the learner's log: wait until its ack arrived.
    await until('the leader to see the learner caught up', () => {
      const s = leader.node.status();
      return (s.progress.find((p) => p.id === 'd')?.match ?? 0) >= s.commitIndex;
    });
    await leader.node.changeMembership({ changeType: 'promote_learner', nodeId: 'd', address: '' });
    // A voter change resolves once the joint configuration is left, so the next one can follow.
    expect(leader.node.status().config.votersOutgoing).toEqual([]);
    const other = c.ids.find((id) => id !== leader.id) as string;
    await leader.node.changeMembership({ changeType: 'remove_node', nodeId: other, address: '' });
    expect(leader.node.status().config.voters).not.toContain(other);
    await until('d to be a voter in every member', () =>
      [...(c as TestCluster).servers, joiner].every((s) => s?.node.status().config.voters.includes('d')),
    );
  }, 20000);
});
