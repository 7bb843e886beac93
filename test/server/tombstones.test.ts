import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import { startTestCluster, type TestCluster } from './helpers.js';

/** Polls `cond` every 50 ms until it holds or `ms` pass (the server's own timers decide when). */
async function eventually(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

describe('tombstone collection (KvCompact committed by the leader)', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster(3);
  });
  afterAll(async () => {
    await c?.close();
  });

  it('a delete leaves a tombstone on every replica until every member has it, then all collect it', async () => {
    await c.leader();
    const client = await connect({ endpoints: c.endpoints });
    try {
      await client.put('gone', 'v');
      await client.delete('gone');
      const replicas = () => c.servers.map((s) => s!.replica.machine);
      expect(await eventually(() => replicas().every((m) => m.hasTombstone('gone')), 5_000)).toBe(true);
      // Collected on every replica once the leader's floor passes the delete (interval 5 s).
      expect(await eventually(() => replicas().every((m) => !m.hasTombstone('gone')), 15_000)).toBe(true);
      expect((await client.get('gone')).value).toBeNull();
    } finally {
      await client.close();
    }
  });
});
