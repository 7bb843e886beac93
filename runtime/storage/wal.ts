/**
 * Segmented write-ahead log with group commit, written only against the env `FileSystem`
 * (durability through `sync`/`syncDir`; see runtime/env/types.ts), so the same code runs on node:fs
 * and on the simulator's crashing file system.
 *
 * Invariants:
 * - At most one write is unsynced at any moment (each flush is one write, then one fdatasync), so
 *   after a crash only the final write can be torn; damage anywhere else is corruption.
 * - A segment gets its Seal record only after its successor (header written, synced, dir synced) is
 *   durable; a sealed last segment therefore means a segment was lost.
 * - `seq` is consecutive over the whole log and each segment header repeats the log state (base
 *   index, hard state, snapshot), so a lost record, a missing segment or a gap is detected.
 * - After a failed fs call the WAL is failed for good: nothing is acknowledged after it.
 */
import { posix } from 'node:path';
import type { FileSystem } from '../env/types.js';
import { StorageFailedError, WalCorruptionError } from './errors.js';
import { ensureDurableDir, removeIfExists } from './fs-util.js';
import { LogState, LogStateError } from './log-state.js';
import {
  type DecodedRecord,
  decodeEntry,
  decodeHardState,
  decodeRecordAt,
  decodeSegmentHeader,
  decodeSnapshotMeta,
  decodeTruncate,
  encodeEntry,
  encodeHardState,
  encodeSegmentHeader,
  encodeSnapshotMeta,
  encodeTruncate,
  endOfData,
  type HardState,
  RECORD_ALIGN,
  RECORD_HEADER_SIZE,
  RecordType,
  type RecordTypeTag,
  recordSize,
  type SegmentHeader,
  type SnapshotMeta,
  type WalEntry,
  writeRecord,
} from './record.js';

/** Options of `openWal`. */
export interface WalOptions {
  /** Bytes preallocated per segment (default 64 MiB). Records larger than this grow the segment. */
  segmentSize?: number;
  /**
   * How a new segment is preallocated: 'sparse' extends it with `truncate` (cheap; the file system
   * allocates blocks on first write), 'zero' writes real zeros so appends overwrite allocated
   * blocks and an fdatasync need not journal extent changes (costs one segment's worth of
   * writes per segment, off the commit path). Either way the next segment is prepared in the
   * background. Default 'zero'.
   */
  preallocate?: 'sparse' | 'zero';
  /**
   * Told of a problem that is not (yet) a failure: the background preallocation of the next
   * segment failed (a full disk, say). Default: ignored.
   */
  onWarning?: (message: string) => void;
  /**
   * Why this WAL must already exist (e.g. the data dir holds snapshots, so the member has lived
   * before). When set and no segment is found, `openWal` throws `WalCorruptionError` with this
   * reason instead of starting a new, empty log that has forgotten the member's term and vote.
   */
  requireExisting?: string;
}

/** What recovery repaired (nothing acknowledged is ever dropped by a repair). */
export interface RepairReport {
  /** A torn or zero-filled tail that was cut back to the last valid record, if any. */
  tornTail: { file: string; offset: number; bytesDiscarded: number; defect: string } | null;
  /** Files removed (an incomplete segment left by a crash during creation or rollover). */
  removedFiles: string[];
}

/** The durable state found by `openWal`. */
export interface WalRecovered {
  hardState: HardState;
  /** The entries after the latest snapshot marker, in index order, contiguous. */
  entries: WalEntry[];
  /** Latest snapshot marker ({0, 0} when none). */
  snapshot: SnapshotMeta;
  /** Index of the last entry (the snapshot index when no entry follows it). */
  lastIndex: number;
  repair: RepairReport;
  /** Segment files in order. */
  segments: string[];
}

/** Counters for tests, metrics and benchmarks. */
export interface WalStats {
  writes: number;
  syncs: number;
  bytesWritten: number;
  segmentsCreated: number;
  segmentsRemoved: number;
}

/**
 * Encodes `batch[from, to)` as records lying from segment offset `start` on (`bytes` in all),
 * numbered from `seq`.
 */
function encodeRecords(
  batch: readonly PendingRecord[],
  from: number,
  to: number,
  start: number,
  bytes: number,
  seq: number,
): Uint8Array {
  const buf = new Uint8Array(bytes);
  let at = 0;
  for (let k = from; k < to; k++) {
    const r = batch[k] as PendingRecord;
    at += writeRecord(buf, at, r.type, seq + (k - from), start, r.payload);
  }
  return buf;
}

/** Segment file name for segment number `n` (the number is the sort key). */
export function segmentFileName(n: number): string {
  return `${String(n).padStart(20, '0')}.wal`;
}

const SEGMENT_NAME = /^(\d{20})\.wal$/;
const SEAL_SIZE = recordSize(0);
/** Name of the preallocated next segment (not a segment until renamed; removed at open). */
const SPARE_NAME = 'next-segment.tmp';
const DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024;

interface PendingRecord {
  type: RecordTypeTag;
  payload: Uint8Array;
  apply: (s: LogState) => void;
}

interface SegmentInfo {
  no: number;
  name: string;
  /** Log last index when the segment was created. */
  base: number;
}

interface Waiter {
  target: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * The write side of the log. `append` buffers in memory and validates synchronously; `sync`
 * resolves when everything appended before it is durable. Callers that sync concurrently share
 * one write and one fdatasync (group commit); a leader can append, replicate, then sync.
 */
export class Wal {
  private readonly segmentSize: number;
  private readonly zeroFill: boolean;
  private readonly onWarning: ((message: string) => void) | undefined;
  private segments: SegmentInfo[];
  private writeOffset: number;
  private capacity: number;
  private nextSeq: number;
  /** State including appended-but-unwritten records (validates appends). */
  private readonly mem: LogState;
  /** State of what has been written to segments (feeds new segment headers). */
  private readonly disk: LogState;
  private durableSnapshotIndex: number;
  private pending: PendingRecord[] = [];
  private appended = 0;
  private durable = 0;
  private waiters: Waiter[] = [];
  private flushing = false;
  /** Settles when the current flush loop ends (never rejects). */
  private flushDone: Promise<void> = Promise.resolve();
  /** The preallocated next segment being prepared (its path once ready, null if it failed). */
  private spare: Promise<string | null> | null = null;
  private failure: StorageFailedError | null = null;
  private closed = false;
  private readonly counters: WalStats = {
    writes: 0,
    syncs: 0,
    bytesWritten: 0,
    segmentsCreated: 0,
    segmentsRemoved: 0,
  };

  /** @internal use `openWal`. */
  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    init: {
      segmentSize: number;
      zeroFill: boolean;
      onWarning?: (message: string) => void;
      segments: SegmentInfo[];
      writeOffset: number;
      capacity: number;
      nextSeq: number;
      mem: LogState;
      disk: LogState;
    },
  ) {
    this.segmentSize = init.segmentSize;
    this.zeroFill = init.zeroFill;
    this.onWarning = init.onWarning;
    this.segments = init.segments;
    this.writeOffset = init.writeOffset;
    this.capacity = init.capacity;
    this.nextSeq = init.nextSeq;
    this.mem = init.mem;
    this.disk = init.disk;
    this.durableSnapshotIndex = init.disk.snapshot.index;
  }

  /** Index of the last appended entry. */
  get lastIndex(): number {
    return this.mem.lastIndex;
  }

  /** Latest hard state appended. */
  get hardState(): HardState {
    return { ...this.mem.hardState };
  }

  /** The failure that stopped this WAL, or null while healthy. */
  get failed(): StorageFailedError | null {
    return this.failure;
  }

  /** How many syncs completed so far (cheap: `stats()` copies every counter). */
  get syncCount(): number {
    return this.counters.syncs;
  }

  /** Counters (writes, syncs, bytes, segments). */
  stats(): WalStats {
    return { ...this.counters };
  }

  /** Current segment file names, oldest first. */
  segmentFiles(): string[] {
    return this.segments.map((s) => s.name);
  }

  private checkUsable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('WAL is closed');
  }

  private enqueue(r: PendingRecord): void {
    r.apply(this.mem);
    this.pending.push(r);
    this.appended++;
  }

  /**
   * Buffers entries (and optionally a new hard state) for the next flush. Entries must be
   * contiguous and start at most one past the last index; starting lower overwrites the suffix
   * from there (a follower resolving a conflict). Not durable until `sync` resolves.
   * Throws StorageFailedError once the WAL has failed, RangeError for an invalid sequence.
   */
  append(entries: readonly WalEntry[], hardState?: HardState): void {
    this.checkUsable();
    // Validate the whole batch before touching state, so a rejected append changes nothing.
    let expected = -1;
    for (const e of entries) {
      if (expected !== -1 && e.index !== expected) {
        throw new RangeError(`entries must be contiguous: got ${e.index}, expected ${expected}`);
      }
      expected = e.index + 1;
    }
    const first = entries[0];
    if (first) {
      if (first.index <= this.mem.snapshot.index || first.index > this.mem.lastIndex + 1) {
        throw new RangeError(
          `entry ${first.index} must be in (${this.mem.snapshot.index}, ${this.mem.lastIndex + 1}]`,
        );
      }
    }
    for (const e of entries) {
      const copy: WalEntry = { index: e.index, term: e.term, payload: e.payload };
      this.enqueue({ type: RecordType.Entry, payload: encodeEntry(copy), apply: (s) => s.entry(copy) });
    }
    if (hardState) {
      const hs = { term: hardState.term, votedFor: hardState.votedFor, commit: hardState.commit };
      this.enqueue({
        type: RecordType.HardState,
        payload: encodeHardState(hs),
        apply: (s) => {
          s.hardState = hs;
        },
      });
    }
  }

  /** Discards entries from `from` on, without appending (buffered like `append`). */
  truncateSuffix(from: number): void {
    this.checkUsable();
    if (from <= this.mem.snapshot.index || from > this.mem.lastIndex + 1) {
      throw new RangeError(
        `truncate point ${from} must be in (${this.mem.snapshot.index}, ${this.mem.lastIndex + 1}]`,
      );
    }
    this.enqueue({
      type: RecordType.TruncateSuffix,
      payload: encodeTruncate(from),
      apply: (s) => s.truncateFrom(from),
    });
  }

  /** Resolves when every record appended before the call is durable; rejects once failed. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('WAL is closed'));
    const target = this.appended;
    if (this.durable >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
      if (!this.flushing) this.flushDone = this.flushLoop();
    });
  }

  /** `append` then `sync`: resolves when these entries and hard state are durable. */
  save(entries: readonly WalEntry[], hardState?: HardState): Promise<void> {
    try {
      return this.saveNow(entries, hardState) ?? Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * `save`, done on the calling thread when it can be: when the file system writes durably that
   * way now (`FileSystem.writeDurableNow`), no flush is running, and the records fit in the current
   * segment. Returns undefined once they are durable, else `sync`'s promise. Throws `append`'s
   * errors, and the StorageFailedError of a failed write, synchronously.
   */
  saveNow(entries: readonly WalEntry[], hardState?: HardState): Promise<void> | undefined {
    this.append(entries, hardState);
    return this.syncNow() ? undefined : this.sync();
  }

  /**
   * Writes and syncs every pending record on this thread if it can (see `saveNow`): true once
   * they are durable, false when nothing was written. The same bytes at the same offset as
   * `writeBatch` would write; state changes only after the write succeeded.
   */
  private syncNow(): boolean {
    if (this.flushing || this.failure || this.closed || this.pending.length === 0) return false;
    const writeNow = this.fs.writeDurableNow;
    if (!writeNow) return false;
    const batch = this.pending;
    const start = this.writeOffset;
    let end = start;
    for (const r of batch) end += recordSize(r.payload.length);
    // A rollover (or a record larger than a segment) takes `writeBatch`.
    if (end + SEAL_SIZE > this.capacity) return false;
    const buf = encodeRecords(batch, 0, batch.length, start, end - start, this.nextSeq);
    const seq = this.nextSeq + batch.length;
    const path = this.currentPath;
    let written: boolean;
    try {
      written = writeNow.call(this.fs, path, start, buf);
    } catch (e) {
      this.fail(`write to ${path}`, e);
      throw this.failure;
    }
    if (!written) {
      // `sync` runs `writeBatch` on this very batch next: it writes these bytes, not encode again.
      this.prepared = { batch, start, buf };
      return false;
    }
    this.pending = [];
    this.nextSeq = seq;
    for (const r of batch) r.apply(this.disk);
    this.writeOffset = end;
    this.counters.writes++;
    this.counters.syncs++;
    this.counters.bytesWritten += buf.length;
    this.markDurable(this.durable + batch.length);
    return true;
  }

  /** Records up to the `upto`-th appended one are durable: resolves the syncs waiting for them. */
  private markDurable(upto: number): void {
    this.durable = upto;
    this.durableSnapshotIndex = this.disk.snapshot.index;
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) w.target <= upto ? w.resolve() : still.push(w);
    this.waiters = still;
  }

  /**
   * Records that a durable snapshot covers the log up to `meta.index` and syncs it. Call only after
   * the snapshot itself is durable (see SnapshotStore.save). If the log has the entry at
   * `meta.index` with `meta.term`, the entries after it are kept; otherwise the log is discarded.
   */
  markSnapshot(meta: SnapshotMeta): Promise<void> {
    try {
      this.checkUsable();
    } catch (e) {
      return Promise.reject(e);
    }
    const m = { index: meta.index, term: meta.term };
    // A marker that replaces the log (it does not hold the snapshot's entry) goes after an explicit
    // truncation. Replayed alone, once compaction removed the segment holding the entries up to
    // the marker, the marker could not tell and kept what the snapshot replaced (the WAL fuzz:
    // a snapshot recorded at recovery, its truncation lost in the crash before).
    if (m.index > this.mem.snapshot.index && m.index < this.mem.lastIndex && !this.mem.snapshotKeepsLog(m))
      this.truncateSuffix(m.index + 1);
    this.enqueue({
      type: RecordType.Snapshot,
      payload: encodeSnapshotMeta(m),
      apply: (s) => s.markSnapshot(m),
    });
    return this.sync();
  }

  /**
   * Removes whole segments whose entries all lie at or below `uptoIndex`, oldest first. Requires
   * a durable snapshot marker at or above `uptoIndex` (the removed entries are in the snapshot).
   * The current segment is never removed. Returns the number of segments removed.
   */
  compact(uptoIndex: number): Promise<number> {
    // Serialized: two compactions must not pick the same oldest segment.
    const run = this.compacting.then(() => this.compactNow(uptoIndex));
    this.compacting = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private compacting: Promise<void> = Promise.resolve();

  private async compactNow(uptoIndex: number): Promise<number> {
    this.checkUsable();
    if (uptoIndex > this.durableSnapshotIndex) {
      throw new RangeError(
        `cannot compact to ${uptoIndex}: the durable snapshot only covers ${this.durableSnapshotIndex}`,
      );
    }
    let removed = 0;
    // Segment k may go when the log, as it stood when segment k+1 was created, ended at or below
    // uptoIndex: then everything in k is either in the snapshot or was overwritten later.
    while (this.segments.length > 1 && (this.segments[1] as SegmentInfo).base <= uptoIndex) {
      const victim = this.segments[0] as SegmentInfo;
      // One removal per directory sync: a crash never leaves a hole in the middle.
      await this.guard('compact', async () => {
        await this.fs.remove(posix.join(this.dir, victim.name));
        await this.fs.syncDir(this.dir);
      });
      this.segments.shift();
      this.counters.segmentsRemoved++;
      removed++;
    }
    return removed;
  }

  /** Waits for the flush in progress, then refuses further use. Does not sync unsynced appends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flushDone;
    await this.spare;
  }

  /**
   * Puts the WAL into the failed state because a related write (e.g. a snapshot) hit a disk
   * error: from now on nothing is acknowledged. Returns the (first) failure.
   */
  markFailed(operation: string, cause: unknown): StorageFailedError {
    this.fail(operation, cause);
    return this.failure as StorageFailedError;
  }

  private async guard<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.failure) throw this.failure;
    try {
      return await fn();
    } catch (e) {
      this.fail(operation, e);
      throw this.failure;
    }
  }

  private fail(operation: string, cause: unknown): void {
    if (!this.failure)
      this.failure = cause instanceof StorageFailedError ? cause : new StorageFailedError(operation, cause);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(this.failure);
  }

  private async flushLoop(): Promise<void> {
    this.flushing = true;
    try {
      // Only while someone waits: records appended without a sync (e.g. a commit-only hard
      // state) ride along with the next sync instead of costing an fdatasync of their own.
      while (this.pending.length > 0 && this.waiters.length > 0 && !this.failure) {
        const batch = this.pending;
        this.pending = [];
        const upto = this.durable + batch.length;
        try {
          await this.writeBatch(batch);
        } catch (e) {
          this.fail(`write to ${this.currentPath}`, e);
          return;
        }
        this.markDurable(upto);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The current segment's path, joined once per segment (it is asked for at every write). */
  private get currentPath(): string {
    const name = (this.segments[this.segments.length - 1] as SegmentInfo).name;
    if (name !== this.currentPathOf.name) this.currentPathOf = { name, path: posix.join(this.dir, name) };
    return this.currentPathOf.path;
  }

  private currentPathOf = { name: '', path: '' };

  /**
   * A batch `syncNow` encoded but could not write on the calling thread. Valid only for that batch
   * at that offset (nothing can be written in between: `sync` starts the flush at once).
   */
  private prepared: { batch: PendingRecord[]; start: number; buf: Uint8Array } | null = null;

  /** Writes records (rolling segments over as needed), then syncs. One unsynced write at a time. */
  private async writeBatch(batch: PendingRecord[]): Promise<void> {
    const prepared = this.prepared;
    this.prepared = null;
    let i = 0;
    while (i < batch.length) {
      const start = this.writeOffset;
      let end = start;
      let j = i;
      while (j < batch.length) {
        const size = recordSize((batch[j] as PendingRecord).payload.length);
        const fits = end + size + SEAL_SIZE <= this.capacity;
        // A record larger than a whole segment goes alone into a segment that only holds a header.
        const oversized = j === i && this.segmentOnlyHeader() && !fits;
        if (!fits && !oversized) break;
        end += size;
        j++;
        if (oversized) break;
      }
      if (j === i) {
        await this.rollover();
        continue;
      }
      const buf =
        prepared?.batch === batch && i === 0 && j === batch.length && prepared.start === start
          ? prepared.buf
          : encodeRecords(batch, i, j, start, end - start, this.nextSeq);
      this.nextSeq += j - i;
      for (let k = i; k < j; k++) (batch[k] as PendingRecord).apply(this.disk);
      // The last write of the batch and its sync are one call when the file system offers it.
      const last = j === batch.length && this.fs.writeDurable !== undefined;
      if (last) await this.fs.writeDurable?.(this.currentPath, start, buf);
      else await this.fs.write(this.currentPath, start, buf);
      this.counters.writes++;
      this.counters.bytesWritten += buf.length;
      this.writeOffset = end;
      if (end + SEAL_SIZE > this.capacity) this.capacity = end + SEAL_SIZE;
      i = j;
      if (last) {
        this.counters.syncs++;
        return;
      }
      if (i < batch.length) {
        await this.fs.sync(this.currentPath);
        this.counters.syncs++;
        await this.rollover();
      }
    }
    await this.fs.sync(this.currentPath);
    this.counters.syncs++;
  }

  private headerEnd = 0;

  private segmentOnlyHeader(): boolean {
    return this.writeOffset === this.headerEnd;
  }

  /** Creates the next segment durably, then seals the current one (see the module invariants). */
  private async rollover(): Promise<void> {
    const cur = this.segments[this.segments.length - 1] as SegmentInfo;
    const next: SegmentInfo = {
      no: cur.no + 1,
      name: segmentFileName(cur.no + 1),
      base: this.disk.lastIndex,
    };
    const headerSeq = this.nextSeq + 1; // the seal of `cur` takes nextSeq
    const spare = this.spare ? await this.spare : null;
    this.spare = null;
    const headerEnd = await createSegment(
      this.fs,
      this.dir,
      next,
      this.disk,
      headerSeq,
      this.segmentSize,
      this.zeroFill,
      spare,
    );
    this.counters.segmentsCreated++;
    const seal = new Uint8Array(SEAL_SIZE);
    writeRecord(seal, 0, RecordType.Seal, this.nextSeq, this.writeOffset, new Uint8Array(0));
    await this.fs.write(this.currentPath, this.writeOffset, seal);
    await this.fs.sync(this.currentPath);
    this.counters.writes++;
    this.counters.syncs++;
    this.nextSeq = headerSeq + 1;
    this.segments.push(next);
    this.writeOffset = headerEnd;
    this.headerEnd = headerEnd;
    this.capacity = this.segmentSize;
    this.prepareSpare();
  }

  /**
   * Starts preallocating the next segment in the background, so a rollover only writes a header
   * and renames (zero-filling 64 MiB inline would stall every commit waiting behind it). A failed
   * preparation is not an error by itself: the rollover then creates the segment directly. It is
   * reported, and its partial file removed: on a full disk that file would hold the last free
   * space, and the eventual failure would name some other write.
   */
  prepareSpare(): Promise<void> {
    if (this.closed || this.failure) return Promise.resolve();
    const path = posix.join(this.dir, SPARE_NAME);
    const ready = preallocateFile(this.fs, path, this.segmentSize, this.zeroFill).then(
      () => path,
      async (e: unknown) => {
        await removeIfExists(this.fs, path).catch(() => undefined);
        this.onWarning?.(
          `cannot preallocate the next WAL segment ${path} (${this.segmentSize} bytes): ${e instanceof Error ? e.message : String(e)}; the rollover will create it then (free space on the data dir's disk)`,
        );
        return null;
      },
    );
    this.spare = ready;
    return ready.then(() => undefined);
  }

  /** @internal set by openWal. */
  setHeaderEnd(n: number): void {
    this.headerEnd = n;
  }
}

/** Writes a new segment (header, preallocated to `size`), syncs it and its directory. */
async function createSegment(
  fs: FileSystem,
  dir: string,
  seg: SegmentInfo,
  state: LogState,
  seq: number,
  size: number,
  zeroFill: boolean,
  spare: string | null,
): Promise<number> {
  const header: SegmentHeader = {
    segment: seg.no,
    base: seg.base,
    hardState: { ...state.hardState },
    snapshot: { ...state.snapshot },
  };
  const payload = encodeSegmentHeader(header);
  const buf = new Uint8Array(recordSize(payload.length));
  writeRecord(buf, 0, RecordType.SegmentHeader, seq, 0, payload);
  const path = posix.join(dir, seg.name);
  if (spare) {
    // The spare is already preallocated and synced: only the header is new.
    await fs.write(spare, 0, buf);
    await fs.sync(spare);
    await fs.rename(spare, path);
  } else {
    await preallocateFile(fs, path, size, zeroFill);
    await fs.write(path, 0, buf);
    await fs.sync(path);
  }
  await fs.syncDir(dir);
  return buf.length;
}

/** Creates `path` as `size` zero bytes (really written when `zeroFill`, else sparse), synced. */
async function preallocateFile(fs: FileSystem, path: string, size: number, zeroFill: boolean): Promise<void> {
  await removeIfExists(fs, path);
  if (zeroFill) {
    const chunk = new Uint8Array(Math.min(1 << 20, size));
    for (let at = 0; at < size; at += chunk.length) {
      await fs.write(path, at, at + chunk.length <= size ? chunk : chunk.subarray(0, size - at));
    }
  } else {
    await fs.write(path, 0, new Uint8Array(RECORD_ALIGN));
    await fs.truncate(path, size);
  }
  await fs.sync(path);
}

interface ScannedSegment {
  info: SegmentInfo;
  path: string;
  bytes: Uint8Array;
  header: SegmentHeader | null;
  headerSeq: number;
  headerEnd: number;
  /** Valid records after the header, up to the first invalid one or the seal. */
  records: Array<DecodedRecord & { offset: number }>;
  sealed: boolean;
  /** Offset of the first invalid record (end of the valid prefix) when not sealed. */
  stop: number;
  stopDefect: string;
}

function scanSegment(info: SegmentInfo, path: string, bytes: Uint8Array): ScannedSegment {
  const out: ScannedSegment = {
    info,
    path,
    bytes,
    header: null,
    headerSeq: -1,
    headerEnd: 0,
    records: [],
    sealed: false,
    stop: 0,
    stopDefect: '',
  };
  const first = decodeRecordAt(bytes, 0, bytes.length);
  if (!first.ok) {
    out.stopDefect = first.defect;
    return out;
  }
  if (first.type !== RecordType.SegmentHeader) {
    out.stopDefect = 'first record is not a segment header';
    return out;
  }
  try {
    out.header = decodeSegmentHeader(first.payload);
  } catch (e) {
    out.stopDefect = (e as Error).message;
    return out;
  }
  out.headerSeq = first.seq;
  out.headerEnd = first.size;
  let at = first.size;
  for (;;) {
    const r = decodeRecordAt(bytes, at, bytes.length);
    if (!r.ok) {
      out.stop = at;
      out.stopDefect = r.defect;
      return out;
    }
    if (r.type === RecordType.Seal) {
      out.sealed = true;
      out.stop = at;
      out.records.push({ ...r, offset: at });
      return out;
    }
    out.records.push({ ...r, offset: at });
    at += r.size;
  }
}

/**
 * The last valid record with seq > `afterSeq` at an aligned offset in (from, end), scanning
 * forward; stops early at the first one whose write began after `from` (that alone proves the
 * damage at `from` is not in the final write).
 */
function lastValidRecordAfter(
  bytes: Uint8Array,
  from: number,
  end: number,
  afterSeq: number,
): DecodedRecord | null {
  let found: DecodedRecord | null = null;
  let at = from + RECORD_ALIGN;
  while (at + RECORD_HEADER_SIZE <= end) {
    const r = decodeRecordAt(bytes, at, bytes.length);
    if (r.ok && r.seq > afterSeq) {
      found = r;
      if (r.batchStart > from) return r;
      at += r.size;
    } else {
      at += RECORD_ALIGN;
    }
  }
  return found;
}

/**
 * Opens (creating if needed) the WAL in `dir` and recovers it. A torn or zero-filled tail of the
 * last write is cut back to the last valid record and reported; any other damage throws
 * WalCorruptionError naming the file, the offset and the remedy.
 */
export async function openWal(
  fs: FileSystem,
  dir: string,
  opts: WalOptions = {},
): Promise<{ wal: Wal; recovered: WalRecovered }> {
  const segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  const zeroFill = opts.preallocate !== 'sparse';
  if (!Number.isInteger(segmentSize) || segmentSize < 4096)
    throw new RangeError('segmentSize must be an integer >= 4096');
  const repair: RepairReport = { tornTail: null, removedFiles: [] };
  await ensureDurableDir(fs, dir);
  const names = (await fs.list(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
  const infos: SegmentInfo[] = names.map((name) => ({
    no: Number(SEGMENT_NAME.exec(name)?.[1]),
    name,
    base: 0,
  }));
  for (let k = 1; k < infos.length; k++) {
    const prev = infos[k - 1] as SegmentInfo;
    const cur = infos[k] as SegmentInfo;
    if (cur.no !== prev.no + 1) {
      throw new WalCorruptionError(
        posix.join(dir, cur.name),
        0,
        `segment gap: ${segmentFileName(prev.no + 1)} is missing between ${prev.name} and ${cur.name}`,
      );
    }
  }
  // Segments are read one at a time (and released once replayed): they can be large.
  const cache = new Map<number, ScannedSegment>();
  const scan = async (k: number): Promise<ScannedSegment> => {
    const hit = cache.get(k);
    if (hit) return hit;
    const info = infos[k] as SegmentInfo;
    const path = posix.join(dir, info.name);
    const seg = scanSegment(info, path, (await fs.readFile(path)) ?? new Uint8Array(0));
    cache.set(k, seg);
    return seg;
  };

  // A crash during rollover can leave a last segment that holds nothing after its header (or
  // not even a valid header) while its predecessor is not sealed yet: drop it, nothing in it was
  // ever acknowledged. A crash while creating the very first segment leaves an empty log.
  const last = infos.length > 0 ? await scan(infos.length - 1) : undefined;
  if (last && last.records.length === 0 && !last.sealed && !hasValidRecordAfter(last)) {
    const prev = infos.length > 1 ? await scan(infos.length - 2) : undefined;
    const incompleteRollover = prev !== undefined && !prev.sealed;
    const incompleteCreation = infos.length === 1 && last.info.no === 1 && last.header === null;
    if (incompleteRollover || incompleteCreation) {
      await fs.remove(last.path);
      await fs.syncDir(dir);
      repair.removedFiles.push(last.path);
      cache.delete(infos.length - 1);
      infos.pop();
    }
  }

  if (infos.length === 0) {
    if (opts.requireExisting !== undefined) {
      throw new WalCorruptionError(dir, 0, `no WAL segment is left: ${opts.requireExisting}`);
    }
    const state = new LogState(0, false);
    const info: SegmentInfo = { no: 1, name: segmentFileName(1), base: 0 };
    const headerEnd = await createSegment(fs, dir, info, state, 0, segmentSize, zeroFill, null);
    const wal = new Wal(fs, dir, {
      segmentSize,
      zeroFill,
      onWarning: opts.onWarning,
      segments: [info],
      writeOffset: headerEnd,
      capacity: segmentSize,
      nextSeq: 1,
      mem: state,
      disk: cloneState(state),
    });
    wal.setHeaderEnd(headerEnd);
    await wal.prepareSpare();
    return {
      wal,
      recovered: {
        hardState: { ...state.hardState },
        entries: [],
        snapshot: { index: 0, term: 0 },
        lastIndex: 0,
        repair,
        segments: [info.name],
      },
    };
  }

  let state: LogState | null = null;
  let expectSeq = -1;
  let firstBase = 0;
  let lastSeg: ScannedSegment | null = null;
  for (let k = 0; k < infos.length; k++) {
    const seg = await scan(k);
    const isLast = k === infos.length - 1;
    if (isLast) lastSeg = seg;
    else cache.delete(k);
    const header = seg.header;
    if (!header) {
      throw new WalCorruptionError(seg.path, 0, `segment header is unreadable (${seg.stopDefect})`);
    }
    if (header.segment !== seg.info.no) {
      throw new WalCorruptionError(
        seg.path,
        0,
        `segment header names segment ${header.segment}, not ${seg.info.no}`,
      );
    }
    seg.info.base = header.base;
    if (state === null) {
      firstBase = header.base;
      state = new LogState(header.base, true);
      state.hardState = header.hardState;
      state.snapshot = header.snapshot;
      if (header.snapshot.index > header.base) state.offset = header.snapshot.index;
    } else {
      if (seg.headerSeq !== expectSeq) {
        throw new WalCorruptionError(
          seg.path,
          0,
          `segment starts at record ${seg.headerSeq}, expected ${expectSeq}`,
        );
      }
      if (header.base !== state.lastIndex) {
        throw new WalCorruptionError(
          seg.path,
          0,
          `segment continues the log after index ${header.base}, but the previous segments end at ${state.lastIndex}`,
        );
      }
    }
    expectSeq = seg.headerSeq + 1;
    for (const r of seg.records) {
      if (r.seq !== expectSeq) {
        throw new WalCorruptionError(
          seg.path,
          r.offset,
          `record ${r.seq} found where record ${expectSeq} belongs`,
        );
      }
      expectSeq++;
      try {
        applyRecord(state, r);
      } catch (e) {
        const what = e instanceof LogStateError || e instanceof Error ? e.message : String(e);
        throw new WalCorruptionError(seg.path, r.offset, `invalid record: ${what}`);
      }
    }
    if (!isLast) {
      if (!seg.sealed) {
        throw new WalCorruptionError(
          seg.path,
          seg.stop,
          `segment ends without a seal record (${seg.stopDefect}) but later segments follow`,
        );
      }
      continue;
    }
    if (seg.sealed) {
      throw new WalCorruptionError(
        seg.path,
        seg.stop,
        `segment is sealed but its successor ${segmentFileName(seg.info.no + 1)} is missing`,
      );
    }
    // Tail of the last segment: everything after the valid prefix must be zero, or be the torn
    // remains of the final write (no valid record of an earlier write follows the damage).
    const end = endOfData(seg.bytes, seg.bytes.length);
    if (end > seg.stop) {
      const later = lastValidRecordAfter(seg.bytes, seg.stop, end, expectSeq - 1);
      if (later && later.batchStart > seg.stop) {
        throw new WalCorruptionError(
          seg.path,
          seg.stop,
          `damaged record (${seg.stopDefect}) followed by valid records of a later write`,
        );
      }
      await fs.write(seg.path, seg.stop, new Uint8Array(end - seg.stop));
      await fs.sync(seg.path);
      repair.tornTail = {
        file: seg.path,
        offset: seg.stop,
        bytesDiscarded: end - seg.stop,
        defect: seg.stopDefect,
      };
    }
  }
  const st = state as LogState;
  if (firstBase > st.snapshot.index) {
    throw new WalCorruptionError(
      posix.join(dir, (infos[0] as SegmentInfo).name),
      0,
      `the oldest segment continues the log after index ${firstBase}, ` +
        `but the latest snapshot only covers index ${st.snapshot.index}: earlier segments are missing`,
    );
  }
  const tail = lastSeg as ScannedSegment;
  const recovered: WalRecovered = {
    hardState: { ...st.hardState },
    entries: st.entries(),
    snapshot: { ...st.snapshot },
    lastIndex: st.lastIndex,
    repair,
    segments: infos.map((s) => s.name),
  };
  const walState = cloneState(st);
  const wal = new Wal(fs, dir, {
    segmentSize,
    zeroFill,
    onWarning: opts.onWarning,
    segments: infos,
    writeOffset: tail.stop,
    capacity: Math.max(tail.bytes.length, tail.stop + SEAL_SIZE),
    nextSeq: expectSeq,
    mem: walState,
    disk: cloneState(walState),
  });
  wal.setHeaderEnd(tail.headerEnd);
  await wal.prepareSpare();
  return { wal, recovered };
}

function hasValidRecordAfter(seg: ScannedSegment): boolean {
  const end = endOfData(seg.bytes, seg.bytes.length);
  const from = seg.header ? seg.stop : 0;
  if (from >= end) return false;
  return lastValidRecordAfter(seg.bytes, from - RECORD_ALIGN, end, -1) !== null;
}

function applyRecord(state: LogState, r: DecodedRecord): void {
  switch (r.type) {
    case RecordType.Entry:
      state.entry(decodeEntry(r.payload));
      return;
    case RecordType.HardState:
      state.hardState = decodeHardState(r.payload);
      return;
    case RecordType.Snapshot:
      state.markSnapshot(decodeSnapshotMeta(r.payload));
      return;
    case RecordType.TruncateSuffix:
      state.truncateFrom(decodeTruncate(r.payload));
      return;
    case RecordType.Seal:
      return; // scanSegment stops after it; it only counts in the seq chain
    default:
      throw new LogStateError(`unexpected record type ${r.type}`);
  }
}

/** A copy without payloads (the writer only needs indexes and terms). */
function cloneState(s: LogState): LogState {
  const c = new LogState(s.offset, false);
  c.terms = s.terms.slice();
  c.hardState = { ...s.hardState };
  c.snapshot = { ...s.snapshot };
  return c;
}
