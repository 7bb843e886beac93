/**
 * Issue 5: "a leader whose sync stalls past a bound steps down instead of holding the cluster",
 * on real files, sockets and timers. The WAL's small writes go through the process's bounded-sync
 * helper; holding it stalls the next durable write (the leader's, for the put below) the way a
 * hung disk would, while other writes take the thread pool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../runtime/client/client.js';
import type { Server } from '../../runtime/server/server.js';
import { until } from '../helpers/until.js';
import { holdNextSave, startTestCluster, type TestCluster } from './helpers.js';

// Below the election timeout (150-300 ms in these tests): while its save is stuck the leader sends
// no heartbeats, so with a longer bound the followers would depose it before it steps down.
const MAX_SYNC_STALL_MS = 100;
let c: TestCluster;
let client: Client;

beforeAll(async () => {
  c = await startTestCluster(3, { config: { maxSyncStallMs: MAX_SYNC_STALL_MS } });
  await c.leader();
  client = await connect({ endpoints: c.endpoints, timeoutMs: 10_000 });
  await client.put('before', 'x');
});

afterAll(async () => {
  await client?.close();
  await c?.close();
});

describe('a leader whose storage stalls', () => {
  it('steps down after maxSyncStallMs; the others elect a leader and commit; nothing is lost after the disk recovers', async () => {
    const oldLeader = await c.leader();
    // The leader's save of the put below hangs until released.
    const release = await holdNextSave(c, oldLeader);
    let stuck: Promise<unknown> | undefined;
    try {
      const stalledAt = performance.now();
      stuck = client.put('during', 'y');
      await until('the stalled leader to step down', () => oldLeader.node.status().role !== 'leader');
      const steppedDownAfter = performance.now() - stalledAt;
      expect(oldLeader.node.status().syncStalls).toBe(1);
      expect(oldLeader.status().syncStalls).toBe(1); // what /status and `consensus status --json` show
      expect(steppedDownAfter).toBeGreaterThanOrEqual(MAX_SYNC_STALL_MS);
      const newLeader = await until('a new leader', () =>
        c.servers.find((s): s is Server => !!s && s !== oldLeader && s.node.status().role === 'leader'),
      );
      // The disk is still stuck for the old leader; the cluster commits without it.
      const other = await connect({ endpoints: [c.endpoints[c.servers.indexOf(newLeader)] as string] });
      try {
        await other.put('while-stalled', 'z');
      } finally {
        await other.close();
      }
    } finally {
      release();
      stuck?.catch(() => undefined); // awaited below; never an unhandled rejection if we failed early
    }
    await stuck;
    for (const [key, want] of [
      ['before', 'x'],
      ['during', 'y'],
      ['while-stalled', 'z'],
    ] as const) {
      const { value } = await client.get(key, { consistency: 'linearizable' });
      expect(new TextDecoder().decode(value ?? new Uint8Array()), key).toBe(want);
    }
    // The old leader caught up: every member applied the same commands.
    const target = Math.max(...c.servers.map((s) => s?.node.status().commitIndex ?? 0));
    await until('every member to apply the last entry', () =>
      c.servers.every((s) => (s?.node.status().appliedIndex ?? 0) >= target),
    );
  });
});
