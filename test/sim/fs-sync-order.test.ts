/**
 * The simulated disk's syncs complete after a random latency, so they can complete out of order.
 * A sync that was called earlier but completes later MUST NOT replace the durable state committed
 * by a newer one: a real fsync never un-persists. Before (found by review), it did, and the WAL
 * was falsely refused after a crash when a compaction's directory sync overlapped a rollover.
 */
import { describe, expect, it } from 'vitest';
import type { FileSystem } from '../../runtime/env/types.js';
import { openWal } from '../../runtime/storage/index.js';
import { SimDisk } from '../../sim/fs.js';
import { Prng } from '../../sim/prng.js';
import { entries, show } from '../storage/helpers.js';

/** A scheduler that runs deferred completions in FIFO order, except ones explicitly held. */
function controlledScheduler() {
  const held: Array<() => void> = [];
  const s = {
    holdNext: false,
    held,
    defer(_ms: number, fn: () => void) {
      if (s.holdNext) {
        s.holdNext = false;
        held.push(fn);
      } else setImmediate(fn);
    },
  };
  return s;
}

/** A disk (no torn writes) whose sync completions run in order unless `sched.holdNext` holds one. */
function heldSyncDisk(seed: number) {
  const sched = controlledScheduler();
  const disk = new SimDisk(new Prng(seed), sched, {
    syncLatency: { minMs: 1, maxMs: 1 },
    tornWriteProbability: 0,
  });
  return { sched, disk };
}

describe('SimDisk: out-of-order completion of concurrent syncs', () => {
  it('file data: a stale sync completing after a newer one keeps the newer bytes durable', async () => {
    const { sched, disk } = heldSyncDisk(1);
    const fs = disk.fileSystem();
    await fs.write('f', 0, new Uint8Array([1]));
    await fs.syncDir(''); // the name is durable
    sched.holdNext = true;
    const first = fs.sync('f'); // captured [1], completion held
    await fs.write('f', 1, new Uint8Array([2]));
    await fs.sync('f'); // [1, 2] durable: acknowledged
    (sched.held.shift() as () => void)(); // the older sync completes now
    await first;
    disk.crash();
    const after = await disk.fileSystem().readFile('f');
    expect(Array.from(after ?? [])).toEqual([1, 2]);
  });

  it('WAL: a compaction syncDir completing after a rollover keeps the new segment and its acknowledged entries', async () => {
    const { sched, disk } = heldSyncDisk(2);
    const inner = disk.fileSystem();
    let holdNextSyncDir = false;
    const fs: FileSystem = {
      ...inner,
      syncDir: (d) => {
        if (holdNextSyncDir) {
          holdNextSyncDir = false;
          sched.holdNext = true;
        }
        return inner.syncDir(d);
      },
    };
    const opts = { segmentSize: 4096, preallocate: 'sparse' as const };
    const { wal } = await openWal(fs, 'wal', opts);
    let next = 1;
    while (wal.segmentFiles().length < 2) {
      await wal.save(entries(next, next + 9, 1));
      next += 10;
    }
    await wal.markSnapshot({ index: next - 1, term: 1 });
    // Background compaction (as the node runs it): remove(segment 1), then syncDir, held.
    holdNextSyncDir = true;
    const compaction = wal.compact(next - 1);
    // Meanwhile the Ready loop keeps saving until the WAL rolls over into segment 3.
    let acked = next - 1;
    while (wal.segmentFiles().length < 3 || acked < next - 1) {
      await wal.save(entries(next, next + 9, 1));
      next += 10;
      acked = next - 1;
    }
    await wal.save(entries(next, next + 4, 1)); // acknowledged, in segment 3
    acked = next + 4;
    for (const complete of sched.held.splice(0)) complete(); // the compaction's directory sync completes last
    await compaction;
    disk.crash();
    const reopened = await openWal(disk.fileSystem(), 'wal', opts).then(
      (r) => r.recovered,
      (e: Error) => e,
    );
    expect(reopened instanceof Error ? reopened.message : 'opened').toBe('opened');
    const r = reopened as Awaited<ReturnType<typeof openWal>>['recovered'];
    expect(r.lastIndex).toBeGreaterThanOrEqual(acked);
    expect(show(r.entries.slice(-1))).toEqual(show(entries(acked, acked, 1)));
  });
});
