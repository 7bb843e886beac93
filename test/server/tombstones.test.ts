import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import { until } from '../helpers/until.js';
import { startTestCluster, type TestCluster } from './helpers.js';

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
      expect(
        await until(
          'a tombstone on every replica',
          () => replicas().every((m) => m.hasTombstone('gone')),
          5_000,
        ),
      ).toBe(true);
      // Collected on every replica once the leader's floor passes the delete (interval 5 s).
      expect(
        await until(
          'the tombstone collected everywhere',
          () => replicas().every((m) => !m.hasTombstone('gone')),
          15_000,
        ),
      ).toBe(true);
      expect((await client.get('gone')).value).toBeNull();
    } finally {
      await client.close();
    }
  });
});
