/**
 * A member whose disk fails (ENOSPC, EIO) stops acknowledging anything (docs/operations.md). A
 * review found it then stayed up as a zombie: /status kept saying "leader", a client talking only
 * to it got INDETERMINATE for a put that was never appended, SIGTERM waited 3 s for a handover it
 * could not make, and nothing told a supervisor. Now it reports role `failed`, answers requests
 * like a member that knows no leader, skips the handover, and tells `onFailed` (`consensus serve`
 * exits 1 on it).
 */
import { expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import type { Server } from '../../runtime/server/server.js';
import { StorageFailedError } from '../../runtime/storage/errors.js';
import { until } from '../helpers/until.js';
import { clustersClosedAfterEach } from './helpers.js';

const startCluster = clustersClosedAfterEach();

/** Fails `s`'s WAL the way a write that got ENOSPC does (the next save throws). */
function failDisk(s: Server): void {
  const wal = (
    s.node as unknown as { store: { storage: { wal: { markFailed(op: string, e: unknown): unknown } } } }
  ).store.storage.wal;
  wal.markFailed(
    'write',
    Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
  );
}

it('a leader whose disk failed reports failed, sends clients elsewhere, and stops at once', async () => {
  const failures: unknown[] = [];
  const cluster = await startCluster(3, { onFailed: (e) => failures.push(e) });
  const leader = await cluster.leader();
  const i = cluster.servers.indexOf(leader);
  const client = await connect({ endpoints: cluster.endpoints, timeoutMs: 10_000 });
  try {
    await client.put('before', 'x');
    failDisk(leader);
    await client.put('after', 'y'); // the others go on without it
    await until('the failure reported', () => failures.length > 0);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(StorageFailedError);
    expect(leader.status().role).toBe('failed');
    expect(leader.status().leaderId).toBeNull();

    // A client that can reach only the failed member: nothing was appended, so not "unknown".
    const solo = await connect({ endpoints: [cluster.endpoints[i] as string], timeoutMs: 1500 });
    const err = await solo.put('never-appended', 'z').then(
      () => null,
      (e: { code?: string }) => e,
    );
    await solo.close();
    expect((err as { code?: string } | null)?.code).toBe('UNREACHABLE');

    const started = performance.now();
    await leader.close({ transfer: true }); // what SIGTERM does
    cluster.servers[i] = null;
    expect(performance.now() - started).toBeLessThan(2000); // no 3 s wait for an impossible handover
    const got = await client.get('after');
    expect(got.value && new TextDecoder().decode(got.value)).toBe('y');
  } finally {
    await client.close();
  }
});
