/**
 * consensus_with_cluster: three real `consensus serve` processes over loopback TCP elect a leader
 * and replicate: a write through the TCP client is applied on every member (checked on each
 * member's own /status), and survives the leader's kill -9.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProcessCluster, startProcessCluster } from '../../runtime/cli/demo.js';
import { connect } from '../../runtime/client/client.js';
import { BIN, ensureBuilt } from '../server/proc.js';

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

describe('consensus_with_cluster', () => {
  let cluster: ProcessCluster | null = null;
  const root = mkdtempSync(join(tmpdir(), 'vibee-int-'));
  beforeAll(() => ensureBuilt(), 180_000);
  afterAll(async () => {
    cluster?.killAll();
    await Promise.allSettled((cluster?.members ?? []).map((m) => m.exited));
    rmSync(root, { recursive: true, force: true });
  });

  it('consensus_with_cluster: real processes over TCP elect a leader and replicate', async () => {
    cluster = await startProcessCluster({
      root,
      bin: BIN,
      config: { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, heartbeatIntervalMs: 30 },
    });
    expect(new Set(cluster.members.map((m) => m.proc?.pid)).size).toBe(3);
    const leader = await cluster.waitLeader(10_000);
    expect(leader.role).toBe('leader');
    const client = await connect({ endpoints: cluster.endpoints, timeoutMs: 10_000 });
    try {
      await client.put('int/a', 'one');
      const want = (await client.status()).commitIndex;
      const deadline = Date.now() + 5000;
      let applied: number[] = [];
      while (Date.now() < deadline) {
        applied = await Promise.all(
          cluster.members.map(async (m) => (await cluster!.status(m.id))?.appliedIndex ?? 0),
        );
        if (applied.every((a) => a >= want)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(
        applied.every((a) => a >= want),
        `applied ${applied} < ${want}`,
      ).toBe(true);

      expect(await cluster.stop(leader.id, 'SIGKILL')).toBe(137);
      const next = await cluster.waitLeader(10_000, leader.id);
      expect(next.id).not.toBe(leader.id);
      expect(next.term).toBeGreaterThan(leader.term);
      expect(text((await client.get('int/a', { consistency: 'linearizable' })).value)).toBe('one');
      await client.put('int/b', 'two');
      expect(text((await client.get('int/b', { consistency: 'linearizable' })).value)).toBe('two');
    } finally {
      await client.close();
    }
  }, 60_000);
});
