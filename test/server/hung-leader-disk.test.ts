/**
 * A put pending on a leader whose disk hangs is answered by the new leader, not at its deadline.
 * The followers commit it and elect a new leader within an election timeout, but the old leader
 * applies only after its own log save, which is what hangs; its pending proposal used to wait
 * for that save (or the call's deadline) although the client's probe kept finding it alive.
 * Found by a review with an LD_PRELOAD shim that made fdatasync block (docs/operations.md).
 */
import { expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import { clustersClosedAfterEach, holdNextSave } from './helpers.js';

const startCluster = clustersClosedAfterEach();

it('a put pending on a leader whose disk hangs is answered by the new leader within its deadline', async () => {
  const cluster = await startCluster(3);
  const oldLeader = await cluster.leader();
  const client = await connect({ endpoints: cluster.endpoints, timeoutMs: 10_000 });
  try {
    await client.put('before', 'x');
    // The leader's save of the next put hangs until released.
    const release = await holdNextSave(cluster, oldLeader);
    try {
      const outcome = await client.put('during', 'y', { timeoutMs: 4000 }).then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? String(e),
      );
      // Before: INDETERMINATE at the 4 s deadline.
      expect(outcome).toBe('ok');
      expect(cluster.servers.some((s) => s && s !== oldLeader && s.node.status().role === 'leader')).toBe(
        true,
      );
    } finally {
      release();
    }
    const got = await client.get('during');
    expect(got.value && new TextDecoder().decode(got.value)).toBe('y');
  } finally {
    await client.close();
  }
});
