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
import { IndeterminateError } from '../../runtime/client/errors.js';
import { freePorts } from './helpers.js';
import { ensureBuilt, type ServeProc, spawnServe } from './proc.js';

const LONG = process.env.CRASH_TEST === '1';
const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);
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
    const client = await connect({ endpoints: eps, timeoutMs: 10000 });
    const acked = new Map<string, string>();
    let stop = false;
    let writes = 0;
    let indeterminate = 0;
    const load = (async () => {
      while (!stop) {
        const key = `k${writes++}`;
        try {
          await client.put(key, `v-${key}`);
          acked.set(key, `v-${key}`);
        } catch (e) {
          if (!(e instanceof IndeterminateError)) throw e;
          indeterminate++;
        }
      }
    })();
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
    stop = true;
    await load;
    expect(acked.size).toBeGreaterThan(10);
    // Every acknowledged write is present (linearizable reads through the leader).
    for (const [k, v] of acked) expect(text((await client.get(k)).value)).toBe(v);
    await client.close();
    // Every member converges to the same applied state.
    const per = await Promise.all(eps.map((ep) => connect({ endpoints: [ep], timeoutMs: 10000 })));
    const deadline = Date.now() + 10000;
    let applied: number[] = [];
    while (Date.now() < deadline) {
      const sts = await Promise.all(per.map((c) => c.status()));
      applied = sts.map((s) => s.appliedIndex);
      if (
        applied.every((a) => a === sts[0]?.commitIndex) &&
        sts.every((s) => s.commitIndex === sts[0]?.commitIndex)
      )
        break;
      await sleep(50);
    }
    expect(new Set(applied).size).toBe(1);
    for (let i = 0; i < writes; i++) {
      const vals = await Promise.all(
        per.map((c) => c.get(`k${i}`, { consistency: 'stale' }).then((r) => text(r.value))),
      );
      expect(new Set(vals).size, `k${i} differs: ${vals.join(',')}`).toBe(1);
    }
    await Promise.all(per.map((c) => c.close()));
    console.log(
      `crash run n=${n}: ${kills} kills, ${acked.size} acked, ${indeterminate} indeterminate, ${writes} attempted`,
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
