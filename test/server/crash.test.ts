/**
 * Real processes, kill -9 under a steady write load: every acknowledged write must be present
 * afterwards and every member's applied state must be identical.
 * Default run: 3 members, 2 kills of the leader. `CRASH_TEST=1`: 50 kills (leader or follower at
 * random) for 3 and 5 members (`npm run test:crash`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import { freePorts } from './helpers.js';
import { ensureBuilt, type ServeProc, spawnServe } from './proc.js';
import { expectWritesKeptAndConverged, startWriteLoad } from './write-load.js';

const LONG = process.env.CRASH_TEST === '1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function crashRun(
  n: number,
  kills: number,
  leaderOnly: boolean,
  config: Record<string, number> = {},
): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'vibee-crash-'));
  const cfg = join(root, 'cfg.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      electionTimeoutMinMs: 150,
      electionTimeoutMaxMs: 300,
      heartbeatIntervalMs: 30,
      ...config,
    }),
  );
  const ports = await freePorts(n);
  const ids = ports.map((_, i) => `m${i}`);
  const peers = ports.map((p, i) => `${ids[i]}=127.0.0.1:${p}`).join(',');
  const eps = ports.map((p) => `127.0.0.1:${p}`);
  const procs: (ServeProc | null)[] = ids.map(() => null);
  const start = async (i: number) => {
    procs[i] = await spawnServe(ids[i] as string, [
      '--listen',
      eps[i] as string,
      '--peers',
      peers,
      '--data',
      join(root, ids[i] as string),
      '--config',
      cfg,
    ]);
  };
  try {
    await Promise.all(ids.map((_, i) => start(i)));
    const client = await connect({ endpoints: eps, clientId: 'load', timeoutMs: 10000 });
    const load = startWriteLoad(client);
    for (let k = 0; k < kills; k++) {
      await sleep(300 + Math.floor(Math.random() * 300));
      const st = await client.status();
      const leader = ids.indexOf(st.leaderId ?? '');
      const victim =
        leaderOnly || Math.random() < 0.5 || leader < 0 ? Math.max(leader, 0) : Math.floor(Math.random() * n);
      const p = procs[victim];
      if (!p) continue;
      p.proc.kill('SIGKILL');
      await p.exited;
      procs[victim] = null;
      await sleep(200 + Math.floor(Math.random() * 300));
      await start(victim);
    }
    await sleep(300);
    await load.stop();
    expect(load.acked.size).toBeGreaterThan(10);
    const per = await Promise.all(eps.map((ep) => connect({ endpoints: [ep], timeoutMs: 10000 })));
    await expectWritesKeptAndConverged(load, client, 'load', per);
    await client.close();
    await Promise.all(per.map((c) => c.close()));
    console.log(
      `crash run n=${n}: ${kills} kills, ${load.acked.size} acked, ${load.indeterminate} indeterminate, ${load.writes} attempted`,
    );
  } finally {
    for (const p of procs) p?.proc.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
}

describe('kill -9 under write load (real processes)', () => {
  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(() => undefined);

  it.skipIf(LONG)(
    '3 members, the leader killed twice: nothing acknowledged lost, states identical',
    async () => {
      await crashRun(3, 2, true);
    },
    90_000,
  );

  it.runIf(LONG)(
    '3 members, 50 kills of leaders and followers',
    async () => {
      await crashRun(3, 50, false);
    },
    900_000,
  );

  it.runIf(LONG)(
    '5 members, 50 kills of leaders and followers, a snapshot every 200 entries',
    async () => {
      // The default defers snapshots while the state outweighs the log (a few per run here): this
      // run takes one every 200 entries so that kills land in and around snapshot writes.
      await crashRun(5, 50, false, { snapshotInterval: 200, snapshotLogPercent: 0 });
    },
    900_000,
  );
});
