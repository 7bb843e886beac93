/**
 * The simulated disk of one node and the `FileSystem` (runtime/env/types.ts) it exposes.
 *
 * Model: files are inodes; a path names an inode through a directory entry. Each inode has its
 * volatile data (what reads see) and its durable data (what survives a crash); each directory
 * entry exists in the volatile namespace and, once its directory was `syncDir`ed, in the durable
 * one. So:
 * - `write`/`truncate` change volatile data; `sync(path)` makes the file's data durable;
 * - creations, renames, removals and `mkdir` change the volatile namespace; `syncDir(dir)` makes
 *   the entries of `dir` (its direct children) durable;
 * - `crash()` keeps exactly the durable state (entries under a directory whose own entry is not
 *   durable are lost), except that the last unsynced write of each surviving file may survive
 *   torn: a random prefix of it, optionally followed by zeros up to its full length, as decided
 *   by the disk's seeded stream.
 *
 * Every operation takes effect (or fails) when it is called. Its promise settles in a microtask
 * when no latency is configured for it (so a node can use its disk before the world runs), or
 * through the scheduler (the world's event queue, held while the node is paused) after a latency
 * drawn from `opLatency`/`syncLatency`. `sync`/`syncDir` capture what they persist when called and
 * commit it when they complete, so a crash in between loses it. Operations of a crashed
 * incarnation never settle (the process is gone).
 */
import type { FileSystem } from '../runtime/env/types.js';
import type { Prng } from './prng.js';

/**
 * The `FileSystem` operations the simulated disk implements, by name (for fault injection and
 * counters); not the optional `writeDurable` and `writeDurableNow`.
 */
export type FsOp = Exclude<keyof FileSystem, 'writeDurable' | 'writeDurableNow'>;

/** Error codes the simulated disk produces (Node-like). */
export type FsErrorCode =
  | 'ENOENT'
  | 'EISDIR'
  | 'ENOTDIR'
  | 'ENOTEMPTY'
  | 'EINVAL'
  | 'EIO'
  | 'ENOSPC'
  | 'EEXIST';

/** An error with a Node-like `code`, as node:fs throws. */
export class SimFsError extends Error {
  /** The Node-like error code. */
  readonly code: FsErrorCode;
  /** The operation that failed. */
  readonly syscall: FsOp;
  /** The path involved. */
  readonly path: string;

  /** `code: op 'path'`. */
  constructor(code: FsErrorCode, syscall: FsOp, path: string) {
    super(`${code}: ${syscall} '${path}'`);
    this.name = 'SimFsError';
    this.code = code;
    this.syscall = syscall;
    this.path = path;
  }
}

/** A latency range in virtual ms (uniform in [min, max]). */
export interface LatencyRange {
  minMs: number;
  maxMs: number;
}

/** Options of a simulated disk. */
export interface SimDiskOptions {
  /** Latency of `sync` and `syncDir` (completion is then a world event). Default none: completes
   * in a microtask, at the same virtual instant. */
  syncLatency?: LatencyRange;
  /** Latency of every other operation (as for `syncLatency`). Default none. */
  opLatency?: LatencyRange;
  /** Probability that a file's last unsynced write survives a crash (torn). Default 0.5. */
  tornWriteProbability?: number;
  /** Probability that a surviving torn write has a zero-filled tail up to its full length. Default 0.25. */
  zeroFillProbability?: number;
  /**
   * Probability that `writeDurableNow` writes and syncs at once (a disk fast enough for a member
   * to write on its own thread, as a follower does under `consensus serve`); otherwise it declines
   * and the write takes the asynchronous path. Default 0: the file system has no `writeDurableNow`.
   */
  syncWriteProbability?: number;
}

/** How the disk settles promises: `defer(delayMs, fn)` runs `fn` later (the world passes an
 * event-queue scheduler tagged with the node's incarnation, so a crash cancels it). */
export interface DiskScheduler {
  defer(delayMs: number, fn: () => void): void;
}

/** Counters of one disk (all incarnations). */
export interface DiskStats {
  ops: Record<FsOp, number>;
  bytesWritten: number;
  crashes: number;
  tornWrites: number;
}

interface Inode {
  buf: Uint8Array;
  size: number;
  durable: Uint8Array;
  /** Last write since the last committed sync (may survive a crash torn). */
  lastWrite: { offset: number; bytes: Uint8Array } | null;
  /** Bumped by every data change; lets a completing sync tell whether it covered the last write. */
  version: number;
  /** Capture number of the sync whose data is `durable` (a sync never un-persists newer data). */
  durableCapture?: number;
}

type Entry = { kind: 'file'; inode: Inode } | { kind: 'dir' };

const ROOT = '';

/** Normalises a relative `/`-separated path ('' is the root); rejects `..`. */
export function normalizePath(p: string, op: FsOp = 'readFile'): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw new SimFsError('EINVAL', op, p);
    parts.push(seg);
  }
  return parts.join('/');
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? ROOT : p.slice(0, i);
}

function baseOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** The durable and volatile state of one node's disk; survives the node's crashes. */
export class SimDisk {
  private volatile = new Map<string, Entry>();
  private durable = new Map<string, Entry>();
  private readonly failures = new Map<FsOp, FsErrorCode[]>();
  private epoch = 0;
  /**
   * Numbers every sync's capture. Syncs can complete out of order (a random latency each); one
   * that completes after a later one MUST NOT replace the newer durable state with its older one.
   */
  private captures = 0;
  /** Capture number of the syncDir whose entries are durable, per directory. */
  private dirDurableCapture = new Map<string, number>();
  private readonly latencyRng: Prng;
  private readonly crashRng: Prng;
  private readonly syncWriteRng: Prng;
  private readonly opts: Required<Omit<SimDiskOptions, 'syncLatency' | 'opLatency'>> &
    Pick<SimDiskOptions, 'syncLatency' | 'opLatency'>;
  /** Counters (all incarnations). */
  readonly stats: DiskStats = {
    ops: {
      readFile: 0,
      write: 0,
      truncate: 0,
      sync: 0,
      rename: 0,
      remove: 0,
      list: 0,
      mkdir: 0,
      syncDir: 0,
      size: 0,
    },
    bytesWritten: 0,
    crashes: 0,
    tornWrites: 0,
  };

  /** A disk drawing latencies and crash outcomes from forks of `rng`. */
  constructor(
    rng: Prng,
    private scheduler: DiskScheduler,
    opts: SimDiskOptions = {},
  ) {
    this.latencyRng = rng.fork('latency');
    this.crashRng = rng.fork('crash');
    this.syncWriteRng = rng.fork('sync-write');
    this.opts = {
      tornWriteProbability: opts.tornWriteProbability ?? 0.5,
      zeroFillProbability: opts.zeroFillProbability ?? 0.25,
      syncWriteProbability: opts.syncWriteProbability ?? 0,
      syncLatency: opts.syncLatency,
      opLatency: opts.opLatency,
    };
  }

  /** Replaces the scheduler (the world does this on restart, for the new incarnation). */
  setScheduler(s: DiskScheduler): void {
    this.scheduler = s;
  }

  /** Makes the next `count` calls of `op` fail with `code`, without effect. */
  failNext(op: FsOp, code: 'EIO' | 'ENOSPC', count = 1): void {
    const q = this.failures.get(op) ?? [];
    for (let i = 0; i < count; i++) q.push(code);
    this.failures.set(op, q);
  }

  /**
   * Applies crash semantics: keeps exactly the durable state, except each surviving file's last
   * unsynced write may survive torn. Pending operations of the old incarnation never settle.
   */
  crash(): void {
    this.epoch++;
    this.stats.crashes++;
    this.failures.clear();
    const next = new Map<string, Entry>();
    const done = new Set<Inode>();
    // Sorted so the crash stream is consumed in a deterministic order.
    const paths = [...this.durable.keys()].sort();
    for (const p of paths) {
      if (!this.ancestorsDurable(p)) continue;
      const e = this.durable.get(p) as Entry;
      next.set(p, e);
      if (e.kind === 'file' && !done.has(e.inode)) {
        done.add(e.inode);
        this.recoverInode(e.inode);
      }
    }
    this.volatile = next;
    this.durable = new Map(next);
  }

  /** A `FileSystem` view; it stops working (its promises never settle) after the next crash. */
  fileSystem(): FileSystem {
    const epoch = this.epoch;
    const run = <T>(op: FsOp, path: string, fn: () => T, isSync = false): Promise<T> =>
      this.exec(epoch, op, path, fn, isSync);
    const fs: FileSystem = {
      readFile: (path) => run('readFile', path, () => this.doReadFile(normalizePath(path, 'readFile'))),
      write: (path, offset, bytes) =>
        run('write', path, () => this.doWrite(normalizePath(path, 'write'), offset, bytes)),
      truncate: (path, size) =>
        run('truncate', path, () => this.doTruncate(normalizePath(path, 'truncate'), size)),
      sync: (path) => run<void>('sync', path, () => this.doSync(normalizePath(path, 'sync')) as never, true),
      rename: (from, to) =>
        run('rename', from, () => this.doRename(normalizePath(from, 'rename'), normalizePath(to, 'rename'))),
      remove: (path) => run('remove', path, () => this.doRemove(normalizePath(path, 'remove'))),
      list: (dir) => run('list', dir, () => this.doList(normalizePath(dir, 'list'))),
      mkdir: (dir) => run('mkdir', dir, () => this.doMkdir(normalizePath(dir, 'mkdir'))),
      syncDir: (dir) =>
        run<void>('syncDir', dir, () => this.doSyncDir(normalizePath(dir, 'syncDir')) as never, true),
      size: (path) => run('size', path, () => this.doSize(normalizePath(path, 'size'))),
    };
    if (this.opts.syncWriteProbability > 0)
      fs.writeDurableNow = (path, offset, bytes) => this.writeDurableNow(epoch, path, offset, bytes);
    return fs;
  }

  /**
   * `write` + `sync` completed synchronously, when the draw says the disk is fast enough now
   * (`syncWriteProbability`): true once durable. Counted and fault-injected as a write and a sync:
   * an injected write failure writes nothing, an injected sync failure leaves the bytes volatile.
   * A dead incarnation writes nothing (false: its asynchronous write never settles either).
   */
  private writeDurableNow(epoch: number, path: string, offset: number, bytes: Uint8Array): boolean {
    if (epoch !== this.epoch || !this.syncWriteRng.chance(this.opts.syncWriteProbability)) return false;
    const p = normalizePath(path, 'write');
    this.stats.ops.write++;
    const writeFault = this.failures.get('write')?.shift();
    if (writeFault) throw new SimFsError(writeFault, 'write', p);
    this.doWrite(p, offset, bytes);
    this.stats.ops.sync++;
    const syncFault = this.failures.get('sync')?.shift();
    if (syncFault) throw new SimFsError(syncFault, 'sync', p);
    this.doSync(p)();
    return true;
  }

  /** The volatile content of a file (what a read sees now), or null; for tests and tools. */
  peek(path: string): Uint8Array | null {
    const e = this.volatile.get(normalizePath(path));
    return e?.kind === 'file' ? e.inode.buf.slice(0, e.inode.size) : null;
  }

  /** Paths of all files and directories in the volatile namespace, sorted; for tests and tools. */
  paths(): string[] {
    return [...this.volatile.keys()].sort();
  }

  // --- machinery ---------------------------------------------------------------------------

  private exec<T>(epoch: number, op: FsOp, path: string, fn: () => T, isSync: boolean): Promise<T> {
    if (epoch !== this.epoch) return new Promise<T>(() => {}); // a dead incarnation: never settles
    this.stats.ops[op]++;
    let ok = true;
    let value: T | undefined;
    let error: unknown;
    const injected = this.failures.get(op)?.shift();
    if (injected) {
      ok = false;
      error = new SimFsError(injected, op, path);
    } else {
      try {
        value = fn();
      } catch (e) {
        ok = false;
        error = e;
      }
    }
    const lat = isSync ? this.opts.syncLatency : this.opts.opLatency;
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        if (epoch !== this.epoch) return;
        if (!ok) return reject(error);
        // sync/syncDir return their commit: durability happens when the operation completes.
        if (isSync) {
          (value as () => void)();
          resolve(undefined as T);
        } else resolve(value as T);
      };
      // Without a latency the operation completes in a microtask: deterministic (microtasks run
      // in FIFO order) and usable before the world runs (e.g. a node reading its state at start).
      if (!lat) queueMicrotask(settle);
      else this.scheduler.defer(this.latencyRng.range(lat.minMs, lat.maxMs), settle);
    });
  }

  private file(p: string, op: FsOp): Inode {
    const e = this.volatile.get(p);
    if (!e) throw new SimFsError('ENOENT', op, p);
    if (e.kind === 'dir') throw new SimFsError('EISDIR', op, p);
    return e.inode;
  }

  private requireParentDir(p: string, op: FsOp): void {
    const parent = parentOf(p);
    if (parent === ROOT) return;
    const e = this.volatile.get(parent);
    if (!e) throw new SimFsError('ENOENT', op, p);
    if (e.kind !== 'dir') throw new SimFsError('ENOTDIR', op, p);
  }

  private ancestorsDurable(p: string): boolean {
    for (let q = parentOf(p); q !== ROOT; q = parentOf(q)) {
      if (this.durable.get(q)?.kind !== 'dir') return false;
    }
    return true;
  }

  private recoverInode(ino: Inode): void {
    let data = ino.durable;
    const w = ino.lastWrite;
    if (w && this.crashRng.chance(this.opts.tornWriteProbability)) {
      const keep = this.crashRng.int(0, w.bytes.length);
      const zeroFill = this.crashRng.chance(this.opts.zeroFillProbability);
      const end = w.offset + (zeroFill ? w.bytes.length : keep);
      if (end > w.offset || keep > 0) {
        const out = new Uint8Array(Math.max(data.length, end));
        out.set(data);
        out.set(w.bytes.subarray(0, keep), w.offset);
        if (zeroFill) out.fill(0, w.offset + keep, w.offset + w.bytes.length);
        data = out;
        this.stats.tornWrites++;
      }
    }
    ino.durable = data;
    ino.buf = data.slice();
    ino.size = data.length;
    ino.lastWrite = null;
    ino.version++;
  }

  private doReadFile(p: string): Uint8Array | null {
    const e = this.volatile.get(p);
    if (!e) return null;
    if (e.kind === 'dir') throw new SimFsError('EISDIR', 'readFile', p);
    return e.inode.buf.slice(0, e.inode.size);
  }

  private doWrite(p: string, offset: number, bytes: Uint8Array): void {
    if (p === ROOT) throw new SimFsError('EISDIR', 'write', p);
    if (!Number.isInteger(offset) || offset < 0) throw new SimFsError('EINVAL', 'write', p);
    let e = this.volatile.get(p);
    if (e?.kind === 'dir') throw new SimFsError('EISDIR', 'write', p);
    if (!e) {
      this.requireParentDir(p, 'write');
      e = {
        kind: 'file',
        inode: { buf: new Uint8Array(0), size: 0, durable: new Uint8Array(0), lastWrite: null, version: 0 },
      };
      this.volatile.set(p, e);
    }
    const ino = e.inode;
    const end = offset + bytes.length;
    this.ensure(ino, end);
    // Bytes past the old size may hold stale data from before a truncate: a hole reads as zeros.
    if (offset > ino.size) ino.buf.fill(0, ino.size, offset);
    ino.buf.set(bytes, offset);
    if (end > ino.size) ino.size = end;
    ino.lastWrite = { offset, bytes: bytes.slice() };
    ino.version++;
    this.stats.bytesWritten += bytes.length;
  }

  private ensure(ino: Inode, size: number): void {
    if (size <= ino.buf.length) return;
    const grown = new Uint8Array(Math.max(size, ino.buf.length * 2, 64));
    grown.set(ino.buf.subarray(0, ino.size));
    ino.buf = grown;
  }

  private doTruncate(p: string, size: number): void {
    if (!Number.isInteger(size) || size < 0) throw new SimFsError('EINVAL', 'truncate', p);
    const ino = this.file(p, 'truncate');
    if (size > ino.size) {
      this.ensure(ino, size);
      ino.buf.fill(0, ino.size, size);
    }
    ino.size = size;
    ino.version++;
  }

  /** Captures the data now; the returned commit makes it durable when the sync completes. */
  private doSync(p: string): () => void {
    const e = this.volatile.get(p);
    if (e?.kind === 'dir') return this.doSyncDir(p);
    const ino = this.file(p, 'sync');
    const snapshot = ino.buf.slice(0, ino.size);
    const covered = ino.lastWrite;
    const epoch = this.epoch;
    const capture = ++this.captures;
    return () => {
      if (epoch !== this.epoch || capture < (ino.durableCapture ?? 0)) return;
      ino.durableCapture = capture;
      ino.durable = snapshot;
      // The captured data includes that write, so it is durable and no longer torn-able (a later
      // truncate changes the version but writes nothing).
      if (ino.lastWrite === covered) ino.lastWrite = null;
    };
  }

  private doRename(from: string, to: string): void {
    const e = this.volatile.get(from);
    if (!e) throw new SimFsError('ENOENT', 'rename', from);
    if (e.kind === 'dir') throw new SimFsError('EISDIR', 'rename', from);
    if (from === to) return;
    const target = this.volatile.get(to);
    if (target?.kind === 'dir' || to === ROOT) throw new SimFsError('EISDIR', 'rename', to);
    this.requireParentDir(to, 'rename');
    this.volatile.delete(from);
    this.volatile.set(to, e);
  }

  private doRemove(p: string): void {
    const e = this.volatile.get(p);
    if (!e || p === ROOT) throw new SimFsError('ENOENT', 'remove', p);
    if (e.kind === 'dir' && this.childrenOf(this.volatile, p).length > 0) {
      throw new SimFsError('ENOTEMPTY', 'remove', p);
    }
    this.volatile.delete(p);
  }

  private childrenOf(ns: Map<string, Entry>, dir: string): string[] {
    const out: string[] = [];
    for (const p of ns.keys()) if (p !== ROOT && parentOf(p) === dir) out.push(p);
    return out;
  }

  private doList(dir: string): string[] {
    if (dir !== ROOT) {
      const e = this.volatile.get(dir);
      if (!e) return [];
      if (e.kind !== 'dir') throw new SimFsError('ENOTDIR', 'list', dir);
    }
    return this.childrenOf(this.volatile, dir).map(baseOf).sort();
  }

  /** Like `mkdir -p`: creates missing ancestors; an existing directory is fine. */
  private doMkdir(dir: string): void {
    if (dir === ROOT) return;
    const parts = dir.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      const e = this.volatile.get(p);
      if (e?.kind === 'file') throw new SimFsError(i === parts.length ? 'EEXIST' : 'ENOTDIR', 'mkdir', dir);
      if (!e) this.volatile.set(p, { kind: 'dir' });
    }
  }

  /** Captures the entries of `dir` now; the returned commit makes them durable. */
  private doSyncDir(dir: string): () => void {
    if (dir !== ROOT) {
      const e = this.volatile.get(dir);
      if (!e) throw new SimFsError('ENOENT', 'syncDir', dir);
      if (e.kind !== 'dir') throw new SimFsError('ENOTDIR', 'syncDir', dir);
    }
    const entries = this.childrenOf(this.volatile, dir).map(
      (p) => [p, this.volatile.get(p) as Entry] as const,
    );
    const epoch = this.epoch;
    const capture = ++this.captures;
    return () => {
      if (epoch !== this.epoch || capture < (this.dirDurableCapture.get(dir) ?? 0)) return;
      this.dirDurableCapture.set(dir, capture);
      for (const p of this.childrenOf(this.durable, dir)) this.durable.delete(p);
      for (const [p, e] of entries) this.durable.set(p, e);
    };
  }

  private doSize(p: string): number | null {
    const e = this.volatile.get(p);
    if (!e) return null;
    if (e.kind === 'dir') throw new SimFsError('EISDIR', 'size', p);
    return e.inode.size;
  }
}
