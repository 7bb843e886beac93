/**
 * A full disk (ENOSPC) during the WAL's background preallocation of its next segment, or during a
 * snapshot write. Found by a review on a small loop-mounted disk: both left their partial file
 * behind, holding the last free space, and the preallocation failed silently, so the member later
 * died at a rollover or a snapshot with an error naming some other write.
 */
import { describe, expect, it } from 'vitest';
import { isOutOfDescriptors } from '../../runtime/env/fs-errors.js';
import {
  openSnapshotStore,
  openStorage,
  openWal,
  type Snapshot,
  snapshotFileName,
} from '../../runtime/storage/index.js';
import { MemoryFileSystem } from './memory-fs.js';

const SEGMENT = 3 * 1024 * 1024; // preallocated in 1 MiB chunks
const SPARE = 'wal/next-segment.tmp';

describe('a full disk', () => {
  it('a failed preallocation of the next segment is reported and leaves no partial file', async () => {
    const fs = new MemoryFileSystem();
    const warnings: string[] = [];
    const { wal } = await openWal(fs, 'wal', { segmentSize: SEGMENT, onWarning: (m) => warnings.push(m) });
    // The disk fills during the preparation of the second spare (its 2nd chunk on).
    let spareWrites = 0;
    fs.failOn('write', 'ENOSPC', { match: (p) => p === SPARE && ++spareWrites >= 3, times: 1000 });
    const big = (i: number) => ({ index: i, term: 1, payload: new Uint8Array(64 * 1024) });
    let i = 1;
    while (wal.segmentFiles().length < 2) await wal.save([big(i++)]);
    await (wal as unknown as { spare: Promise<unknown> }).spare; // the background preparation ended
    expect(wal.failed).toBeNull(); // not a failure by itself: the rollover creates the segment then
    expect(fs.getFile(SPARE)).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cannot preallocate the next WAL segment wal\/next-segment\.tmp .*ENOSPC/);
  });

  it('a snapshot write that fails leaves no partial temp file', async () => {
    const fs = new MemoryFileSystem();
    const store = await openSnapshotStore(fs, 'snap');
    const s: Snapshot = {
      index: 5,
      term: 1,
      configuration: { voters: ['a'], learners: [], index: 5 },
      data: new Uint8Array(10_000),
    };
    fs.failOn('sync', 'ENOSPC', { match: (p) => p.endsWith('.tmp') });
    await expect(store.save(s)).rejects.toThrow(/ENOSPC/);
    expect(fs.getFile(`snap/${snapshotFileName(5, 1)}.tmp`)).toBeNull();
  });

  it('a snapshot that hits the file-descriptor limit (EMFILE) fails alone: the WAL keeps acknowledging', async () => {
    const fs = new MemoryFileSystem();
    const { storage } = await openStorage(fs, { segmentSize: 64 * 1024 });
    await storage.wal.save([{ index: 1, term: 1, payload: new Uint8Array(8) }]);
    fs.failOn('write', 'EMFILE', { match: (p) => p.startsWith('snap/') });
    const snap: Snapshot = {
      index: 1,
      term: 1,
      configuration: { voters: ['a'], learners: [], index: 1 },
      data: new Uint8Array(4),
    };
    await expect(storage.installSnapshot(snap)).rejects.toMatchObject({ code: 'EMFILE' });
    expect(storage.wal.failed).toBeNull();
    await storage.wal.save([{ index: 2, term: 1, payload: new Uint8Array(8) }]);
    await storage.installSnapshot(snap); // the fault was one-shot
  });

  it('an EMFILE that failed the WAL itself (its part of a snapshot) is a storage failure, not a skipped snapshot', async () => {
    const fs = new MemoryFileSystem();
    const { storage } = await openStorage(fs, { segmentSize: 64 * 1024 });
    for (let i = 1; i <= 40; i++)
      await storage.wal.save([{ index: i, term: 1, payload: new Uint8Array(4096) }]);
    fs.failOn('syncDir', 'EMFILE', { match: (p) => p.startsWith('wal') });
    const err = await storage
      .installSnapshot({
        index: 40,
        term: 1,
        configuration: { voters: ['a'], learners: [], index: 1 },
        data: new Uint8Array(4),
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(storage.wal.failed).not.toBeNull();
    expect(isOutOfDescriptors(err)).toBe(false); // the node must fail, not count a skip
  });
});
