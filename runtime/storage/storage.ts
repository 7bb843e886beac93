/**
 * A member's durable storage: the WAL and the snapshot store in one data dir, recovered together,
 * with the one ordering that matters for compaction: the snapshot is durable, then the WAL records
 * it, then old segments and old snapshots go.
 */
import { posix } from 'node:path';
import { isOutOfDescriptors } from '../env/fs-errors.js';
import type { FileSystem } from '../env/types.js';
import { WalCorruptionError } from './errors.js';
import type { HardState, WalEntry } from './record.js';
import {
  openSnapshotStore,
  type SkippedSnapshot,
  type Snapshot,
  type SnapshotStore,
  snapshotFileName,
} from './snapshot-store.js';
import { openWal, type RepairReport, type Wal, type WalOptions } from './wal.js';

/** Options of `openStorage`. */
export interface StorageOptions extends WalOptions {
  /** WAL directory inside the data dir (default 'wal'). */
  walDir?: string;
  /** Snapshot directory inside the data dir (default 'snap'). */
  snapDir?: string;
  /** Snapshots kept (default 2). */
  retainSnapshots?: number;
}

/** What a restarting member starts from. */
export interface Recovered {
  hardState: HardState;
  /** The newest valid snapshot, or null. */
  snapshot: Snapshot | null;
  /** Log entries after the snapshot, contiguous. */
  entries: WalEntry[];
  lastIndex: number;
  repair: RepairReport & { skippedSnapshots: SkippedSnapshot[] };
}

/** The WAL and snapshot store of one member. */
export interface Storage {
  wal: Wal;
  snapshots: SnapshotStore;
  /**
   * Makes `s` the member's snapshot: saved durably, recorded in the WAL, then WAL segments wholly
   * covered by it are removed (and older snapshots pruned by the store). Used both for local
   * compaction and for a snapshot installed from the leader.
   */
  installSnapshot(s: Snapshot): Promise<void>;
}

/**
 * Opens (creating if needed) a member's storage and recovers it. Throws WalCorruptionError when
 * the WAL is damaged beyond its tail, or when the WAL says a snapshot exists that no file holds.
 * It makes everything below the root of `fs` durable, never the root's own directory entry: the
 * caller MUST have made that durable (`createDurableDirSync`, `ensureDurableDir` on a parent fs).
 */
export async function openStorage(
  fs: FileSystem,
  opts: StorageOptions = {},
): Promise<{ storage: Storage; recovered: Recovered }> {
  const snapDir = opts.snapDir ?? 'snap';
  const snapshots = await openSnapshotStore(fs, snapDir, { retain: opts.retainSnapshots });
  const loaded = await snapshots.load();
  // A snapshot file (valid or not) proves the member ran before; a new empty log would have
  // forgotten its term and vote (it could vote twice in one term) and every acknowledged entry
  // after the snapshot.
  const proof = loaded.file ?? loaded.skipped[0]?.file;
  const { wal, recovered: w } = await openWal(fs, opts.walDir ?? 'wal', {
    ...opts,
    requireExisting:
      proof === undefined
        ? undefined
        : `the snapshot file ${proof} shows this member ran before, so its log (with its term, vote ` +
          'and the entries after the snapshot) was deleted or lost',
  });
  let snapshot = loaded.snapshot;
  if (w.snapshot.index > 0 && (!snapshot || snapshot.index < w.snapshot.index)) {
    throw new WalCorruptionError(
      loaded.file ?? snapDir,
      0,
      `the WAL records a snapshot at index ${w.snapshot.index} (term ${w.snapshot.term}) but the newest ` +
        `valid snapshot file covers ${snapshot ? `only index ${snapshot.index}` : 'nothing'}` +
        (loaded.skipped.length > 0
          ? ` (skipped: ${loaded.skipped.map((s) => `${s.file}: ${s.reason}`).join('; ')})`
          : ''),
    );
  }
  let entries = w.entries;
  let lastIndex = w.lastIndex;
  if (snapshot && snapshot.index > w.snapshot.index) {
    // Crash between saving a snapshot and recording it in the WAL: record it now.
    await wal.markSnapshot({ index: snapshot.index, term: snapshot.term });
    const keep = entries.find((e) => e.index === snapshot?.index)?.term === snapshot.term;
    entries = keep ? entries.filter((e) => e.index > (snapshot as Snapshot).index) : [];
    lastIndex = wal.lastIndex;
  }
  if (snapshot && snapshot.index < w.snapshot.index) snapshot = null; // unreachable (refused above)
  const storage: Storage = {
    wal,
    snapshots,
    async installSnapshot(s) {
      if (wal.failed) throw wal.failed;
      try {
        await snapshots.save(s);
      } catch (e) {
        // Out of file descriptors (a connection flood) says nothing about the disk: the snapshot
        // is not taken, the WAL goes on. The caller decides when to try again.
        if (isOutOfDescriptors(e)) throw e;
        // A disk error here is a disk error for the WAL too: stop acknowledging.
        throw wal.markFailed(`snapshot save to ${posix.join(snapDir, snapshotFileName(s.index, s.term))}`, e);
      }
      await wal.markSnapshot({ index: s.index, term: s.term });
      await wal.compact(s.index);
    },
  };
  return {
    storage,
    recovered: {
      hardState: w.hardState,
      snapshot,
      entries,
      lastIndex,
      repair: { ...w.repair, skippedSnapshots: loaded.skipped },
    },
  };
}
