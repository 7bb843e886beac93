import { afterEach, describe, expect, it } from 'vitest';
import {
  CORRUPTION_REMEDY,
  decodeSnapshot,
  encodeSnapshot,
  openSnapshotStore,
  openStorage,
  type Snapshot,
  StorageFailedError,
  snapshotFileName,
  WalCorruptionError,
} from '../../runtime/storage/index.js';
import { SNAPSHOT_WRITE_STEP_BYTES } from '../../runtime/storage/snapshot-store.js';
import { entries, type FsUnderTest, fileSystems, show } from './helpers.js';
import { MemoryFileSystem } from './memory-fs.js';

const SMALL = 4096;

function snap(index: number, term: number, fill = index): Snapshot {
  return {
    index,
    term,
    configuration: { voters: ['a', 'b', 'c'], learners: [], index },
    data: new Uint8Array(100 + (index % 50)).fill(fill % 256),
  };
}

describe('snapshot file format', () => {
  it('round-trips and detects every single-bit corruption', () => {
    const s = snap(42, 7);
    const bytes = encodeSnapshot(s);
    expect(decodeSnapshot(bytes)).toEqual(s);
    for (let p = 0; p < bytes.length; p++) {
      const bad = bytes.slice();
      bad[p] = (bad[p] as number) ^ (1 << (p % 8));
      expect(() => decodeSnapshot(bad), `flip at ${p}`).toThrow(/magic|version|checksum/);
    }
    expect(() => decodeSnapshot(bytes.subarray(0, bytes.length - 1))).toThrow(/checksum/);
  });
});

describe.each(fileSystems)('snapshot store on %s fs', (_name, make) => {
  let t: FsUnderTest;
  afterEach(async () => t?.cleanup());

  it('saves atomically, loads the newest, keeps `retain` snapshots', async () => {
    t = await make();
    const store = await openSnapshotStore(t.fs, 'snap', { retain: 2 });
    expect((await store.load()).snapshot).toBeNull();
    for (const i of [10, 20, 30]) await store.save(snap(i, 2));
    expect(await store.names()).toEqual([snapshotFileName(20, 2), snapshotFileName(30, 2)]);
    const again = await openSnapshotStore(await t.restart(), 'snap');
    expect((await again.load()).snapshot).toEqual(snap(30, 2));
  });
});

describe('snapshot store: a large state is checksummed and written in steps', () => {
  it('writes the same bytes as encodeSnapshot, in steps of SNAPSHOT_WRITE_STEP_BYTES, and loads it back', async () => {
    const fs = new MemoryFileSystem();
    const store = await openSnapshotStore(fs, 'snap');
    const data = new Uint8Array(2 * SNAPSHOT_WRITE_STEP_BYTES + 12345);
    for (let i = 0; i < data.length; i += 4093) data[i] = i % 251;
    const s: Snapshot = { index: 900, term: 3, configuration: { voters: ['a'] }, data };
    const writesBefore = fs.calls.write;
    const name = await store.save(s);
    // Head, three steps of data, then the checksum: the event loop runs between the awaited writes.
    expect(fs.calls.write - writesBefore).toBe(5);
    // Byte equality without vitest's element-by-element walk over 8 MiB.
    const same = (a: Uint8Array | null | undefined, b: Uint8Array) =>
      !!a && Buffer.from(a).equals(Buffer.from(b));
    expect(same(await fs.readFile(`snap/${name}`), encodeSnapshot(s))).toBe(true);
    const loaded = (await store.load()).snapshot;
    expect(loaded && { ...loaded, data: null }).toEqual({ ...s, data: null });
    expect(same(loaded?.data, data)).toBe(true);
  });

  it('a write that fails before the checksum is set leaves the previous snapshot the newest', async () => {
    const fs = new MemoryFileSystem();
    const store = await openSnapshotStore(fs, 'snap');
    await store.save(snap(10, 1));
    const big: Snapshot = {
      index: 20,
      term: 1,
      configuration: null,
      data: new Uint8Array(SNAPSHOT_WRITE_STEP_BYTES + 1).fill(9),
    };
    // The last step of data fails (1 byte): the checksum is never written, the file never renamed.
    fs.failOn('write', 'EIO', { match: (_path, bytes) => bytes?.length === 1 });
    await expect(store.save(big)).rejects.toThrow(/EIO/);
    fs.crash();
    const reopened = await openSnapshotStore(fs, 'snap');
    expect((await reopened.load()).snapshot).toEqual(snap(10, 1));
    expect(await reopened.names()).toEqual([snapshotFileName(10, 1)]);
  });
});

describe('snapshot store crashes', () => {
  it('falls back to the previous snapshot when the newest is damaged, and says why', async () => {
    const fs = new MemoryFileSystem();
    const store = await openSnapshotStore(fs, 'snap');
    await store.save(snap(10, 1));
    await store.save(snap(20, 1));
    const file = `snap/${snapshotFileName(20, 1)}`;
    const bytes = fs.getFile(file) as Uint8Array;
    bytes[60] = (bytes[60] as number) ^ 1;
    fs.setFile(file, bytes);
    const loaded = await store.load();
    expect(loaded.snapshot?.index).toBe(10);
    expect(loaded.skipped).toEqual([{ file, reason: 'checksum mismatch' }]);
  });

  it('a crash at any point of save leaves the old or the new snapshot, never a torn one', async () => {
    for (const op of ['write', 'sync', 'rename', 'syncDir'] as const) {
      const fs = new MemoryFileSystem();
      const store = await openSnapshotStore(fs, 'snap', { retain: 1 });
      await store.save(snap(10, 1));
      fs.failOn(op, 'EIO');
      await expect(store.save(snap(20, 1))).rejects.toThrow(/EIO/);
      fs.crash({ tornBytes: 50 });
      const reopened = await openSnapshotStore(fs, 'snap', { retain: 1 });
      const loaded = await reopened.load();
      expect(loaded.snapshot, op).toEqual(snap(10, 1));
      expect(loaded.skipped, op).toEqual([]);
      expect(
        (await fs.list('snap')).filter((n) => n.endsWith('.tmp')),
        op,
      ).toEqual([]);
    }
  });
});

describe('openStorage', () => {
  it('installSnapshot: snapshot durable, then WAL marker, then compaction; restart resumes', async () => {
    const fs = new MemoryFileSystem();
    const { storage } = await openStorage(fs, { segmentSize: SMALL });
    for (let i = 1; i <= 300; i += 10)
      await storage.wal.save(entries(i, i + 9, 1), { term: 1, votedFor: 'a', commit: i + 9 });
    const before = storage.wal.segmentFiles().length;
    await storage.installSnapshot(snap(250, 1));
    expect(storage.wal.segmentFiles().length).toBeLessThan(before);
    fs.crash();
    const { recovered } = await openStorage(fs, { segmentSize: SMALL });
    expect(recovered.snapshot).toEqual(snap(250, 1));
    expect(show(recovered.entries)).toEqual(show(entries(251, 300, 1)));
    expect(recovered.hardState).toEqual({ term: 1, votedFor: 'a', commit: 300 });
  });

  it('a crash between snapshot save and WAL marker is reconciled on open', async () => {
    const fs = new MemoryFileSystem();
    const { storage } = await openStorage(fs, { segmentSize: SMALL });
    await storage.wal.save(entries(1, 40, 1));
    await storage.snapshots.save(snap(30, 1)); // ... and crash before markSnapshot
    fs.crash();
    const { storage: s2, recovered } = await openStorage(fs, { segmentSize: SMALL });
    expect(recovered.snapshot?.index).toBe(30);
    expect(show(recovered.entries)).toEqual(show(entries(31, 40, 1)));
    expect(s2.wal.lastIndex).toBe(40);
  });

  it('refuses when the WAL records a snapshot that no valid file holds', async () => {
    const fs = new MemoryFileSystem();
    const { storage } = await openStorage(fs, { segmentSize: SMALL });
    await storage.wal.save(entries(1, 40, 1));
    await storage.installSnapshot(snap(30, 1));
    await fs.remove(`snap/${snapshotFileName(30, 1)}`);
    await fs.syncDir('snap');
    const e = await openStorage(fs, { segmentSize: SMALL }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WalCorruptionError);
    expect((e as Error).message).toBe(
      'WAL corruption in snap at offset 0: the WAL records a snapshot at index 30 (term 1) but the newest ' +
        `valid snapshot file covers nothing; ${CORRUPTION_REMEDY}`,
    );
  });

  it('refuses, and creates nothing, when every WAL segment is gone but snapshots remain', async () => {
    const fs = new MemoryFileSystem();
    const { storage } = await openStorage(fs, { segmentSize: SMALL });
    await storage.wal.save(entries(1, 40, 3), { term: 3, votedFor: 'b', commit: 40 });
    await storage.installSnapshot(snap(30, 3));
    for (const name of await fs.list('wal')) await fs.remove(`wal/${name}`);
    await fs.syncDir('wal');
    for (let attempt = 0; attempt < 2; attempt++) {
      // Refused again on the second start: the first refusal must not have created a fresh log.
      const e = await openStorage(fs, { segmentSize: SMALL }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WalCorruptionError);
      expect((e as Error).message).toBe(
        `WAL corruption in wal at offset 0: no WAL segment is left: the snapshot file snap/${snapshotFileName(30, 3)} ` +
          'shows this member ran before, so its log (with its term, vote and the entries after the ' +
          `snapshot) was deleted or lost; ${CORRUPTION_REMEDY}`,
      );
      expect(await fs.list('wal')).toEqual([]);
    }
  });

  it('a damaged snapshot file also counts as proof that the WAL must exist', async () => {
    const fs = new MemoryFileSystem();
    const { storage } = await openStorage(fs, { segmentSize: SMALL });
    await storage.wal.save(entries(1, 40, 1));
    await storage.installSnapshot(snap(30, 1));
    const file = `snap/${snapshotFileName(30, 1)}`;
    await fs.write(file, 0, new Uint8Array(8).fill(0xff));
    for (const name of await fs.list('wal')) await fs.remove(`wal/${name}`);
    const e = await openStorage(fs, { segmentSize: SMALL }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WalCorruptionError);
    expect((e as WalCorruptionError).reason).toContain(
      `the snapshot file ${file} shows this member ran before`,
    );
  });

  it('a disk error while saving a snapshot stops the WAL acknowledging', async () => {
    const fs = new MemoryFileSystem();
    const { storage } = await openStorage(fs, { segmentSize: SMALL });
    await storage.wal.save(entries(1, 10, 1));
    fs.failOn('write', 'ENOSPC', { match: (p) => p.startsWith('snap/') });
    const err = await storage.installSnapshot(snap(5, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFailedError);
    expect((err as Error).message).toContain(
      `during snapshot save to snap/${snapshotFileName(5, 1)}: ENOSPC`,
    );
    await expect(storage.wal.save(entries(11, 11, 1))).rejects.toMatchObject({ code: 'ENOSPC' });
  });
});

describe('directory durability', () => {
  it('the memory fs loses files in a directory whose entry was never synced', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('d/e');
    await fs.write('d/e/f', 0, new Uint8Array([1]));
    await fs.sync('d/e/f');
    await fs.syncDir('d/e');
    fs.crash();
    expect(await fs.readFile('d/e/f')).toBeNull();
  });

  it('WAL and snapshot dirs created by openStorage survive a crash', async () => {
    const fs = new MemoryFileSystem();
    const { storage } = await openStorage(fs, {
      segmentSize: SMALL,
      walDir: 'data/wal',
      snapDir: 'data/snap',
    });
    await storage.wal.save(entries(1, 5, 1));
    await storage.installSnapshot(snap(3, 1));
    fs.crash();
    const { recovered } = await openStorage(fs, {
      segmentSize: SMALL,
      walDir: 'data/wal',
      snapDir: 'data/snap',
    });
    expect(recovered.snapshot?.index).toBe(3);
    expect(show(recovered.entries)).toEqual(show(entries(4, 5, 1)));
  });
});
