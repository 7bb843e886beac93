/**
 * A member being removed from the configuration says so in its log (operators otherwise saw a member
 * that just waited, `/health` 503, with no line about why), and every member logs each membership
 * configuration it applies.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { until } from '../helpers/until.js';
import { startTestCluster, type TestCluster } from './helpers.js';

let c: TestCluster | undefined;
afterAll(async () => {
  await c?.close();
});

it('a removed follower logs that it was removed', async () => {
  const lines: { node?: string; msg: string; level: number }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  c = await startTestCluster(3, { logger: pino({ level: 'info', base: null }, sink) });
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
