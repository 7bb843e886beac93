import { afterEach, describe, expect, it } from 'vitest';
import { openWal, StorageFailedError, segmentFileName } from '../../runtime/storage/index.js';
import { entries, entry, type FsUnderTest, fileSystems, show } from './helpers.js';
import { MemoryFileSystem } from './memory-fs.js';

const SMALL = 4096;

describe.each(fileSystems)('WAL on %s fs', (_name, make) => {
  let t: FsUnderTest;
  afterEach(async () => t?.cleanup());

  it('starts empty, then round-trips entries and hard state across a restart', async () => {
    t = await make();
    const { wal, recovered } = await openWal(t.fs, 'wal', { segmentSize: SMALL });
    expect(recovered.entries).toEqual([]);
    expect(recovered.hardState).toEqual({ term: 0, votedFor: null, commit: 0 });
    expect(recovered.lastIndex).toBe(0);
    await wal.save(entries(1, 5, 1), { term: 1, votedFor: 'n2', commit: 3 });
    await wal.save(entries(6, 7, 2), { term: 2, votedFor: null, commit: 6 });
    const again = await openWal(await t.restart(), 'wal', { segmentSize: SMALL });
    expect(show(again.recovered.entries)).toEqual(show([...entries(1, 5, 1), ...entries(6, 7, 2)]));
    expect(again.recovered.hardState).toEqual({ term: 2, votedFor: null, commit: 6 });
    expect(again.recovered.repair).toEqual({ tornTail: null, removedFiles: [] });
    // Appending continues after the recovered tail.
    await again.wal.save([entry(8, 2)]);
    const third = await openWal(await t.restart(), 'wal', { segmentSize: SMALL });
    expect(third.recovered.lastIndex).toBe(8);
    expect(show(third.recovered.entries).at(-1)).toBe(show([entry(8, 2)])[0]);
  });

  it('overwrites a conflicting suffix (implicitly and with truncateSuffix)', async () => {
    t = await make();
    const { wal } = await openWal(t.fs, 'wal', { segmentSize: SMALL });
    await wal.save(entries(1, 10, 1));
    await wal.save(entries(6, 8, 2)); // a follower: conflict at 6, log now 1..5@1, 6..8@2
    wal.truncateSuffix(8);
    await wal.sync();
    const { recovered } = await openWal(await t.restart(), 'wal', { segmentSize: SMALL });
    expect(show(recovered.entries)).toEqual(show([...entries(1, 5, 1), ...entries(6, 7, 2)]));
    expect(recovered.lastIndex).toBe(7);
  });

  it('rolls segments over and recovers across all of them', async () => {
    t = await make();
    const { wal } = await openWal(t.fs, 'wal', { segmentSize: SMALL });
    const all = [];
    for (let i = 1; i <= 400; i += 10) {
      const batch = entries(i, i + 9, 3);
      all.push(...batch);
      await wal.save(batch, { term: 3, votedFor: 'a', commit: i });
    }
    const files = wal.segmentFiles();
    expect(files.length).toBeGreaterThan(3);
    expect(files).toEqual(files.map((_, k) => segmentFileName(k + 1)));
    const { recovered } = await openWal(await t.restart(), 'wal', { segmentSize: SMALL });
    expect(show(recovered.entries)).toEqual(show(all));
    expect(recovered.hardState.commit).toBe(391);
    expect(recovered.segments).toEqual(files);
  });

  it('rolls over into a preallocated spare segment (zero-filled or sparse)', async () => {
    t = await make();
    for (const preallocate of ['zero', 'sparse'] as const) {
      const dir = `wal-${preallocate}`;
      const { wal } = await openWal(t.fs, dir, { segmentSize: SMALL, preallocate });
      expect(await t.fs.list(dir)).toEqual([segmentFileName(1), 'next-segment.tmp']);
      expect(await t.fs.size(`${dir}/next-segment.tmp`)).toBe(SMALL);
      for (let i = 1; wal.segmentFiles().length < 2; i += 10) await wal.save(entries(i, i + 9, 1));
      await wal.close(); // waits for the next spare too
      expect(await t.fs.list(dir)).toEqual([segmentFileName(1), segmentFileName(2), 'next-segment.tmp']);
      expect(await t.fs.size(`${dir}/${segmentFileName(2)}`)).toBe(SMALL);
      const again = await openWal(await t.restart(), dir, { segmentSize: SMALL, preallocate });
      expect(again.recovered.segments).toEqual([segmentFileName(1), segmentFileName(2)]);
      expect(again.recovered.lastIndex).toBe(wal.lastIndex);
      await again.wal.close();
    }
  });

  it('stores an entry larger than a segment', async () => {
    t = await make();
    const { wal } = await openWal(t.fs, 'wal', { segmentSize: SMALL });
    const big = { index: 2, term: 1, payload: new Uint8Array(10_000).map((_, i) => i % 251) };
    await wal.save([entry(1, 1), big, entry(3, 1)]);
    const { recovered } = await openWal(await t.restart(), 'wal', { segmentSize: SMALL });
    expect(recovered.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(recovered.entries[1]?.payload).toEqual(big.payload);
  });

  it('compacts whole segments below a durable snapshot marker only', async () => {
    t = await make();
    const { wal } = await openWal(t.fs, 'wal', { segmentSize: SMALL });
    for (let i = 1; i <= 300; i += 10) await wal.save(entries(i, i + 9, 1));
    await expect(wal.compact(100)).rejects.toThrow(/durable snapshot only covers 0/);
    const before = wal.segmentFiles();
    await wal.markSnapshot({ index: 150, term: 1 });
    const removed = await wal.compact(150);
    expect(removed).toBeGreaterThan(0);
    expect(wal.segmentFiles()).toEqual(before.slice(removed));
    const { recovered } = await openWal(await t.restart(), 'wal', { segmentSize: SMALL });
    expect(recovered.snapshot).toEqual({ index: 150, term: 1 });
    expect(show(recovered.entries)).toEqual(show(entries(151, 300, 1)));
  });

  it('a marker that discards the log still does after compaction removed the entries it was judged by', async () => {
    // The WAL fuzz (seed 502 of the EIO cases): a snapshot recorded at recovery, with no
    // truncation before it, below the first entry of a later segment. Once compaction removed the
    // earlier segment, the marker replayed alone kept the entries the snapshot had replaced.
    t = await make();
    const { wal } = await openWal(t.fs, 'wal', { segmentSize: SMALL });
    // One entry per save: the one that rolled over is alone in the second segment, which starts
    // after `base`.
    for (let i = 1; wal.segmentFiles().length < 2; i++) await wal.save([entry(i, 1)]);
    const base = wal.lastIndex - 1;
    await wal.save(entries(base + 2, base + 30, 1));
    // A snapshot of another history below the second segment's first entry (term 1 there, not 5).
    await wal.markSnapshot({ index: base - 4, term: 5 });
    expect(wal.lastIndex).toBe(base - 4);
    await wal.markSnapshot({ index: base, term: 6 });
    expect(await wal.compact(base)).toBe(1);
    await wal.close();
    const { recovered } = await openWal(await t.restart(), 'wal', { segmentSize: SMALL });
    expect(recovered.snapshot).toEqual({ index: base, term: 6 });
    expect(show(recovered.entries)).toEqual([]);
    expect(recovered.lastIndex).toBe(base);
  });

  it('a snapshot marker with a different term discards the log (installed snapshot)', async () => {
    t = await make();
    const { wal } = await openWal(t.fs, 'wal', { segmentSize: SMALL });
    await wal.save(entries(1, 20, 1));
    await wal.markSnapshot({ index: 15, term: 4 });
    expect(wal.lastIndex).toBe(15);
    await wal.save(entries(16, 17, 4));
    const { recovered } = await openWal(await t.restart(), 'wal', { segmentSize: SMALL });
    expect(recovered.snapshot).toEqual({ index: 15, term: 4 });
    expect(show(recovered.entries)).toEqual(show(entries(16, 17, 4)));
  });

  it('saves a hard state alone, and concurrent compactions do not collide', async () => {
    t = await make();
    const { wal } = await openWal(t.fs, 'wal', { segmentSize: SMALL });
    for (let i = 1; i <= 200; i += 10) await wal.save(entries(i, i + 9, 1));
    await wal.save([], { term: 5, votedFor: 'n3', commit: 0 });
    await wal.markSnapshot({ index: 200, term: 1 });
    const before = wal.segmentFiles().length;
    const removed = await Promise.all([wal.compact(150), wal.compact(200), wal.compact(200)]);
    expect(removed[0] + removed[1] + removed[2]).toBe(before - 1);
    const { recovered } = await openWal(await t.restart(), 'wal', { segmentSize: SMALL });
    expect(recovered.hardState).toEqual({ term: 5, votedFor: 'n3', commit: 0 });
    expect(recovered.entries).toEqual([]);
    expect(recovered.lastIndex).toBe(200);
  });

  it('rejects appends that would leave a gap or rewrite the snapshot', async () => {
    t = await make();
    const { wal } = await openWal(t.fs, 'wal', { segmentSize: SMALL });
    await wal.save(entries(1, 3, 1));
    expect(() => wal.append([entry(5, 1)])).toThrow(RangeError);
    expect(() => wal.append([entry(4, 1), entry(6, 1)])).toThrow(/contiguous/);
    await wal.markSnapshot({ index: 2, term: 1 });
    expect(() => wal.append([entry(2, 1)])).toThrow(/must be in \(2, 4\]/);
    expect(wal.lastIndex).toBe(3);
  });
});

describe('group commit', () => {
  it('N concurrent saves share fewer fdatasyncs than saves, and all become durable', async () => {
    const fs = new MemoryFileSystem();
    const { wal } = await openWal(fs, 'wal', { segmentSize: 1 << 20 });
    const syncsBefore = fs.calls.sync;
    const n = 50;
    await Promise.all(Array.from({ length: n }, (_, k) => wal.save([entry(k + 1, 1)])));
    const syncs = fs.calls.sync - syncsBefore;
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThan(n / 5);
    expect(wal.stats().syncs).toBe(syncs);
    fs.crash();
    const { recovered } = await openWal(fs, 'wal', { segmentSize: 1 << 20 });
    expect(recovered.lastIndex).toBe(n);
  });

  it('a sync issued during a flush waits for its own records', async () => {
    const fs = new MemoryFileSystem();
    const { wal } = await openWal(fs, 'wal', { segmentSize: SMALL });
    wal.append([entry(1, 1)]);
    const first = wal.sync();
    wal.append([entry(2, 1)]);
    const second = wal.sync();
    await first;
    await second;
    fs.crash();
    expect((await openWal(fs, 'wal', { segmentSize: SMALL })).recovered.lastIndex).toBe(2);
  });

  it('close waits for the flush in progress, then refuses use', async () => {
    const fs = new MemoryFileSystem();
    const { wal } = await openWal(fs, 'wal', { segmentSize: SMALL });
    const saved = wal.save([entry(1, 1)]);
    await wal.close();
    await saved;
    expect(() => wal.append([entry(2, 1)])).toThrow(/closed/);
    await expect(wal.sync()).rejects.toThrow(/closed/);
    fs.crash();
    expect((await openWal(fs, 'wal', { segmentSize: SMALL })).recovered.lastIndex).toBe(1);
  });

  it('appended but unsynced records are not durable', async () => {
    const fs = new MemoryFileSystem();
    const { wal } = await openWal(fs, 'wal', { segmentSize: SMALL });
    await wal.save([entry(1, 1)]);
    wal.append([entry(2, 1)]);
    fs.crash();
    expect((await openWal(fs, 'wal', { segmentSize: SMALL })).recovered.lastIndex).toBe(1);
  });
});

describe('disk errors', () => {
  for (const [op, code] of [
    ['write', 'ENOSPC'],
    ['sync', 'EIO'],
  ] as const) {
    it(`${code} on ${op} fails the WAL for good`, async () => {
      const fs = new MemoryFileSystem();
      const { wal } = await openWal(fs, 'wal', { segmentSize: SMALL });
      await wal.save([entry(1, 1)]);
      fs.failOn(op, code);
      const err = await wal.save([entry(2, 1)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageFailedError);
      expect((err as StorageFailedError).code).toBe(code);
      expect((err as Error).message).toMatch(
        // It names the file, so the operator knows which disk.
        new RegExp(`storage failed during write to wal/\\d+\\.wal: ${code}.*no longer acknowledges`),
      );
      // The fault was one-shot, yet the WAL never acknowledges again.
      expect(() => wal.append([entry(2, 1)])).toThrow(StorageFailedError);
      await expect(wal.sync()).rejects.toBe(err);
      await expect(wal.markSnapshot({ index: 1, term: 1 })).rejects.toBe(err);
      await expect(wal.compact(0)).rejects.toBe(err);
      expect(wal.failed).toBe(err);
    });
  }

  it('rejects every waiter of the failed flush', async () => {
    const fs = new MemoryFileSystem();
    const { wal } = await openWal(fs, 'wal', { segmentSize: SMALL });
    fs.failOn('sync', 'EIO');
    const results = await Promise.allSettled([1, 2, 3].map((i) => wal.save([entry(i, 1)])));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('fails on an error during rollover', async () => {
    const fs = new MemoryFileSystem();
    const { wal } = await openWal(fs, 'wal', { segmentSize: SMALL });
    fs.failOn('syncDir', 'EIO');
    let err: unknown;
    for (let i = 1; i < 1000 && !err; i += 20)
      err = await wal.save(entries(i, i + 19, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFailedError);
    expect((err as StorageFailedError).code).toBe('EIO');
  });
});
