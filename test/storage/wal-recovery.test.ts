/**
 * Recovery across segments and crashes: damage in a sealed segment, missing segments, gaps, a
 * crash during rollover, and crashes that tear the last unsynced write at every length.
 */
import { describe, expect, it } from 'vitest';
import {
  CORRUPTION_REMEDY,
  openWal,
  segmentFileName,
  WalCorruptionError,
} from '../../runtime/storage/index.js';
import { entries, entry, show } from './helpers.js';
import { MemoryFileSystem } from './memory-fs.js';

const SMALL = 4096;
const seg = (n: number) => `wal/${segmentFileName(n)}`;

/** A log over at least three segments: batches of 10 entries, each synced. */
async function multiSegment(): Promise<{ fs: MemoryFileSystem; files: string[]; last: number }> {
  const fs = new MemoryFileSystem();
  const { wal } = await openWal(fs, 'wal', { segmentSize: SMALL });
  let i = 1;
  while (wal.segmentFiles().length < 4) {
    await wal.save(entries(i, i + 9, 1), { term: 1, votedFor: 'a', commit: i });
    i += 10;
  }
  return { fs, files: wal.segmentFiles().map((n) => `wal/${n}`), last: i - 1 };
}

async function refusal(fs: MemoryFileSystem): Promise<WalCorruptionError> {
  const e = await openWal(fs, 'wal', { segmentSize: SMALL }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(WalCorruptionError);
  return e as WalCorruptionError;
}

describe('WAL recovery across segments', () => {
  it('a bit flip anywhere in a sealed segment refuses to start, naming file and offset', async () => {
    const { fs, files } = await multiSegment();
    const victim = files[1] as string;
    const bytes = fs.getFile(victim) as Uint8Array;
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    let refused = 0;
    let unchanged = 0;
    for (let p = 0; p < end; p += 3) {
      const copy = new MemoryFileSystem();
      for (const f of files) copy.setFile(f, fs.getFile(f) as Uint8Array);
      const mutated = bytes.slice();
      mutated[p] = (mutated[p] as number) ^ 0x10;
      copy.setFile(victim, mutated);
      const result = await openWal(copy, 'wal', { segmentSize: SMALL }).catch((e: unknown) => e);
      if (result instanceof WalCorruptionError) {
        refused++;
        expect(result.file).toBe(victim);
        // The reported offset is the start of the damaged record, at or before the flipped byte.
        expect(result.offset).toBeLessThanOrEqual(p);
        expect(p - result.offset).toBeLessThan(128);
      } else {
        // Only a flip in a record's unchecked padding may go unnoticed, and then nothing changed.
        expect(result).not.toBeInstanceOf(Error);
        unchanged++;
      }
    }
    expect(refused).toBeGreaterThan(100);
    expect(unchanged).toBeLessThan(refused / 5);
  });

  it('a missing middle segment is a gap', async () => {
    const { fs, files } = await multiSegment();
    await fs.remove(files[1] as string);
    const e = await refusal(fs);
    expect(e.file).toBe(files[2]);
    expect(e.offset).toBe(0);
    expect(e.message).toBe(
      `WAL corruption in ${files[2]} at offset 0: segment gap: ${segmentFileName(2)} is missing between ` +
        `${segmentFileName(1)} and ${segmentFileName(3)}; ${CORRUPTION_REMEDY}`,
    );
  });

  it('a missing last segment is detected by the seal of its predecessor', async () => {
    const { fs, files } = await multiSegment();
    await fs.remove(files[files.length - 1] as string);
    const e = await refusal(fs);
    expect(e.file).toBe(files[files.length - 2]);
    expect(e.reason).toMatch(/sealed but its successor .* is missing/);
  });

  it('a missing first segment is detected unless a snapshot covers it', async () => {
    const { fs, files } = await multiSegment();
    await fs.remove(files[0] as string);
    const e = await refusal(fs);
    expect(e.file).toBe(files[1]);
    expect(e.reason).toMatch(/latest snapshot only covers index 0: earlier segments are missing/);
  });

  it('zeroing the tail of a sealed segment (lost records) refuses', async () => {
    const { fs, files } = await multiSegment();
    const victim = files[0] as string;
    const bytes = fs.getFile(victim) as Uint8Array;
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    bytes.fill(0, end - 300, end);
    fs.setFile(victim, bytes);
    const e = await refusal(fs);
    expect(e.file).toBe(victim);
    expect(e.reason).toMatch(/without a seal record/);
  });

  it('a crash during rollover (successor created, predecessor not sealed) loses nothing', async () => {
    const fs = new MemoryFileSystem();
    const { wal } = await openWal(fs, 'wal', { segmentSize: SMALL });
    // Fail the write of the seal (the only 24-byte write) into segment 1, after segment 2 is durable.
    fs.failOn('write', 'EIO', { match: (p, b) => p === seg(1) && b?.length === 24 });
    let acked = 0;
    for (let j = 1; j < 500 && !wal.failed; j += 5) {
      if (
        await wal.save(entries(j, j + 4, 1)).then(
          () => true,
          () => false,
        )
      )
        acked = j + 4;
    }
    expect(wal.failed?.code).toBe('EIO');
    expect(acked).toBeGreaterThan(0);
    fs.crash();
    const { recovered } = await openWal(fs, 'wal', { segmentSize: SMALL });
    expect(recovered.repair.removedFiles).toEqual([seg(2)]);
    expect(recovered.segments).toEqual([segmentFileName(1)]);
    expect(show(recovered.entries.slice(0, acked))).toEqual(show(entries(1, acked, 1)));
    // The log goes on in segment 1 and rolls over again normally.
    const { wal: w2 } = await openWal(fs, 'wal', { segmentSize: SMALL });
    const next = recovered.lastIndex + 1;
    await w2.save(entries(next, next + 40, 2));
    expect(w2.segmentFiles().length).toBeGreaterThan(1);
    fs.crash();
    const again = await openWal(fs, 'wal', { segmentSize: SMALL });
    expect(again.recovered.lastIndex).toBe(next + 40);
  });
});

describe('crash with a torn last write', () => {
  it('keeps every acknowledged record and the longest valid prefix of the torn write', async () => {
    const fs = new MemoryFileSystem();
    const { wal } = await openWal(fs, 'wal', { segmentSize: SMALL });
    await wal.save(entries(1, 6, 1), { term: 1, votedFor: 'a', commit: 2 });
    const before = fs.getFile(seg(1)) as Uint8Array;
    wal.append(entries(7, 12, 2), { term: 2, votedFor: 'b', commit: 7 });
    // Let the flush write, but fail its fdatasync so the write stays unsynced.
    fs.failOn('sync', 'EIO');
    await expect(wal.sync()).rejects.toThrow(/EIO/);
    const after = fs.getFile(seg(1)) as Uint8Array;
    let start = 0;
    while (before[start] === after[start]) start++;
    let end = after.length;
    while (end > 0 && after[end - 1] === 0) end--;
    const writeLength = end - start + 8;
    const seen = new Set<number>();
    for (let torn = 0; torn <= writeLength; torn++) {
      const copy = new MemoryFileSystem();
      copy.setFile(seg(1), before);
      const { wal: w } = await openWal(copy, 'wal', { segmentSize: SMALL });
      w.append(entries(7, 12, 2), { term: 2, votedFor: 'b', commit: 7 });
      copy.failOn('sync', 'EIO');
      await w.sync().catch(() => undefined);
      copy.crash({ tornBytes: torn });
      const { recovered } = await openWal(copy, 'wal', { segmentSize: SMALL });
      const n = recovered.lastIndex;
      seen.add(n);
      expect(n).toBeGreaterThanOrEqual(6);
      expect(show(recovered.entries)).toEqual(show([...entries(1, 6, 1), ...entries(7, n, 2)]));
      expect(recovered.hardState).toEqual(
        n === 12 && torn >= writeLength - 8
          ? { term: 2, votedFor: 'b', commit: 7 }
          : { term: 1, votedFor: 'a', commit: 2 },
      );
    }
    // Every prefix length from nothing to the whole write was observed.
    expect([...seen].sort((a, b) => a - b)).toEqual([6, 7, 8, 9, 10, 11, 12]);
    expect(entry(1, 1).index).toBe(1);
  });
});
