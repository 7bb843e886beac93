/**
 * A member being removed from the configuration says so in its log (operators otherwise saw a member
 * that just waited, `/health` 503, with no line about why), and every member logs each membership
 * configuration it applies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, it } from 'vitest';
import { type Server, startServer } from '../../runtime/server/server.js';
import { until } from '../helpers/until.js';
import { clustersClosedAfterEach, FAST, freePorts } from './helpers.js';

const startCluster = clustersClosedAfterEach();

/** A pino logger writing parsed lines into `lines`. */
function capture() {
  const lines: { node?: string; msg: string; level: number }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info', base: null }, sink) };
}

it('a removed follower logs that it was removed', async () => {
  const { lines, logger } = capture();
  const c = await startCluster(3, { logger });
  const leader = await c.leader();
  const removed = c.ids.find((id) => id !== leader.node.id) as string;
  // The leader refuses a change until it has heard from enough voters to keep a quorum after it.
  await until('every follower heard from', () =>
    leader.node.status().progress.every((p) => p.id === leader.node.id || (p.match > 0 && !p.unreachable)),
  );
  await leader.node.changeMembership({ changeType: 'remove_node', nodeId: removed, address: '' });
  const notice = await until('the removed member to log its removal', () =>
    lines.find((l) => l.node === removed && /the cluster is removing this member/.test(l.msg)),
  );
  expect(notice.level).toBe(40); // warn
  expect(lines.some((l) => l.node === leader.node.id && l.msg === 'membership configuration applied')).toBe(
    true,
  );
  // The members that stay do not claim they were removed.
  expect(lines.filter((l) => /is removing this member/.test(l.msg)).map((l) => l.node)).toEqual([removed]);
});

it('members that join later do not warn about configurations from before they joined', async () => {
  const { lines, logger } = capture();
  const c = await startCluster(3, { logger });
  const leader = await c.leader();
  await until('every follower heard from', () =>
    leader.node.status().progress.every((p) => p.id === leader.node.id || (p.match > 0 && !p.unreachable)),
  );
  const peers = new Map(c.ids.map((id, i) => [id, { host: '127.0.0.1', port: c.ports[i] as number }]));
  const root = mkdtempSync(join(tmpdir(), 'vibee-join-notice-'));
  const joined: Server[] = [];
  try {
    for (const id of ['d', 'e']) {
      const [port] = (await freePorts(1)) as [number];
      const s = await startServer({
        id,
        listen: { host: '127.0.0.1', port },
        peers,
        dataDir: join(root, id),
        join: true,
        config: FAST,
        logger,
      });
      joined.push(s);
      await leader.node.changeMembership({
        changeType: 'add_learner',
        nodeId: id,
        address: `127.0.0.1:${port}`,
      });
      const target = leader.node.status().commitIndex;
      await until(`${id} caught up`, () => s.node.status().appliedIndex >= target);
    }
    // e replays the entry that added d (a configuration without e): before, that warned.
    expect(lines.filter((l) => /is removing this member/.test(l.msg)).map((l) => l.node)).toEqual([]);
  } finally {
    for (const s of joined) await s.close();
    rmSync(root, { recursive: true, force: true });
  }
});
