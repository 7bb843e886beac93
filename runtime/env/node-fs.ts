/**
 * The real `FileSystem` of the env contract on node:fs/promises, rooted at a data dir.
 * `sync` is fdatasync on a handle kept open per path (reopening per write and per sync costs two
 * syscalls and a path lookup on the hot WAL path); `syncDir` fsyncs the directory itself, which
 * is what makes creations, renames and removals durable on Linux.
 */
import {
  closeSync,
  constants,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  statSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve as resolvePath, sep } from 'node:path';
import { boundedSync } from './bounded-sync.js';
import type { FileSystem } from './types.js';

/** A node:fs backed FileSystem; `close()` closes the cached handles. */
export interface NodeFileSystem extends FileSystem {
  /** The absolute root all paths are relative to. */
  readonly root: string;
  /** Closes every cached file handle (the file system stays usable; handles reopen on demand). */
  close(): Promise<void>;
}

/** Options of `createNodeFileSystem`. */
export interface NodeFileSystemOptions {
  /** Most file handles kept open at once (least recently opened closed first). Default 64. */
  maxOpenHandles?: number;
  /**
   * `writeDurable` of at most this many bytes (default 64 KiB, the most it takes; 0 disables) is
   * done by a helper thread that the event loop thread waits for synchronously, up to
   * `blockingSyncWaitMs` (`bounded-sync.ts`). Small WAL batches are the whole latency path of a
   * commit, and the loop has nothing else to do until the batch is durable: one thread hand-off
   * instead of the thread pool's two round trips saves about a quarter of it on a small machine.
   * Larger writes take the thread pool.
   */
  blockingSyncMaxBytes?: number;
  /**
   * How long the loop thread waits for such a write (default 20 ms) before handing it back to
   * the event loop as a pending promise. A hung disk then delays the loop by at most this much
   * per write: timers and connections keep running, so a stalled leader steps down after
   * `maxSyncStallMs` instead of freezing.
   */
  blockingSyncWaitMs?: number;
  /**
   * While this returns true, `writeDurable` of at most `blockingSyncMaxBytes` runs pwrite +
   * fdatasync on the calling (event loop) thread itself, with no bound: no hand-off to the helper
   * thread and back, which on a small machine costs two thread wake-ups (about 70 µs at the
   * median) on the commit path. Meant for a follower, whose loop waits for its save anyway
   * (it acknowledges nothing before it) and which no one else waits for: if its disk hangs it
   * stops like a crashed member, and the leader carries on with the others. A leader keeps the
   * bounded wait, so that a hung disk lets it notice and step down. Default: never.
   *
   * Only while the disk is fast: once a durable write has taken longer than `blockingSyncWaitMs`,
   * writes take the bounded path until one completes within it again. A slow disk (every
   * fdatasync 400 ms) would otherwise stop the loop for the whole of each one, and the election
   * timer, which runs before the sockets are read, would fire at every write.
   */
  syncOnLoopThread?: () => boolean;
}

/** Writes all of `bytes` at `offset` (a positional write may be short). */
async function writeAll(h: FileHandle, offset: number, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await h.write(bytes, done, bytes.length - done, offset + done);
    done += bytesWritten;
  }
}

/** `writeAll` on the calling thread. */
function writeAllSync(fd: number, offset: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
}

function isCode(e: unknown, code: string): boolean {
  return (e as { code?: unknown } | null)?.code === code;
}

/**
 * Creates a FileSystem rooted at `rootDir`. Paths are relative to the root; absolute paths and
 * paths that escape the root through `..` are refused with an Error (code 'EACCES').
 */
export function createNodeFileSystem(rootDir: string, opts: NodeFileSystemOptions = {}): NodeFileSystem {
  const root = normalize(rootDir);
  const maxOpen = opts.maxOpenHandles ?? 64;
  const waitMs = Math.max(
    0,
    Number.isFinite(opts.blockingSyncWaitMs) ? (opts.blockingSyncWaitMs as number) : 20,
  );
  // Started now, so that its thread is up by the first WAL write.
  const helper = (opts.blockingSyncMaxBytes ?? 64 * 1024) > 0 ? boundedSync() : null;
  const blockingMax = Math.min(opts.blockingSyncMaxBytes ?? 64 * 1024, helper?.maxBytes ?? 0);
  const blockingMaxInline = opts.blockingSyncMaxBytes ?? 64 * 1024;
  /** The last durable write took at most `waitMs` (see `syncOnLoopThread`). */
  let diskFast = true;
  // Open (or opening) handles by resolved path; insertion order approximates age.
  const handles = new Map<string, Promise<FileHandle>>();
  /**
   * Users of a handle's raw descriptor (the helper thread writes by number, outside FileHandle's
   * own bookkeeping): it is not closed before they are done, else a new file could get the number
   * and the pending write's fdatasync would sync that file instead.
   */
  const users = new Map<Promise<FileHandle>, { count: number; wake?: () => void }>();
  /** Handles whose open completed, by their promise: a WAL write uses one without a yield. */
  const opened = new WeakMap<Promise<FileHandle>, FileHandle>();
  /** The last path resolved (a WAL writes the same segment path at every commit). */
  let lastPath = '';
  let lastResolved = '';

  function resolve(path: string): string {
    if (path === lastPath) return lastResolved;
    const abs = resolveUncached(path);
    lastPath = path;
    lastResolved = abs;
    return abs;
  }

  function resolveUncached(path: string): string {
    const n = normalize(path);
    if (isAbsolute(path) || n === '..' || n.startsWith(`..${sep}`)) {
      const e = new Error(`path '${path}' escapes the data dir ${root}`) as Error & { code: string };
      e.code = 'EACCES';
      throw e;
    }
    return join(root, n);
  }

  /** The cached handle of `abs`, opened if needed (its promise, returned synchronously). */
  function handle(abs: string): Promise<FileHandle> {
    const existing = handles.get(abs);
    if (existing) return existing;
    const opening = open(abs, constants.O_RDWR | constants.O_CREAT, 0o644);
    handles.set(abs, opening);
    opening.then(
      (fh) => opened.set(opening, fh),
      () => handles.delete(abs),
    );
    if (handles.size > maxOpen) {
      // Closes the oldest handle nobody is using the descriptor of (it would wait for them).
      for (const [k, h] of handles) {
        if (k === abs || users.has(h)) continue;
        void drop(k);
        break;
      }
    }
    return opening;
  }

  function acquire(h: Promise<FileHandle>): void {
    const u = users.get(h);
    if (u) u.count++;
    else users.set(h, { count: 1 });
  }

  function release(h: Promise<FileHandle>): void {
    const u = users.get(h);
    if (!u || --u.count > 0) return;
    users.delete(h);
    u.wake?.();
  }

  /**
   * pwrite + fdatasync on this thread when `syncOnLoopThread` allows it now (and the disk is fast,
   * the write small, no helper write pending): true once durable, false when not done.
   */
  function writeOnLoopThread(h: FileHandle, offset: number, bytes: Uint8Array): boolean {
    // Only a helper write still running stands in the way (two writers to one file); a helper that
    // is starting or died does not.
    if (!(diskFast && opts.syncOnLoopThread?.() && bytes.length <= blockingMaxInline && !helper?.writing))
      return false;
    const started = performance.now();
    try {
      writeAllSync(h.fd, offset, bytes);
      fdatasyncSync(h.fd);
    } finally {
      diskFast = performance.now() - started <= waitMs;
    }
    return true;
  }

  async function drop(abs: string): Promise<void> {
    const h = handles.get(abs);
    if (!h) return;
    handles.delete(abs);
    try {
      const fh = await h;
      // Nobody can start using `h` any more (it left `handles`, and only this call dropped it from
      // there, so it is the one waiter); wait for those who did.
      const u = users.get(h);
      if (u) await new Promise<void>((r) => (u.wake = r));
      await fh.close();
    } catch {
      // A handle that failed to open or is already closed has nothing to release.
    }
  }

  return {
    root,
    async readFile(path) {
      try {
        return new Uint8Array(await readFile(resolve(path)));
      } catch (e) {
        if (isCode(e, 'ENOENT')) return null;
        throw e;
      }
    },
    async write(path, offset, bytes) {
      await writeAll(await handle(resolve(path)), offset, bytes);
    },
    writeDurableNow(path, offset, bytes) {
      const cached = handles.get(resolve(path));
      const h = cached && opened.get(cached);
      // Nothing else runs until this returns: the handle cannot be closed meanwhile.
      return h !== undefined && writeOnLoopThread(h, offset, bytes);
    },
    async writeDurable(path, offset, bytes) {
      const cached = handle(resolve(path));
      acquire(cached);
      try {
        // An open handle is used at once: a yield here put the rest of the socket read's callback
        // and the process's other microtasks between a follower's receipt of entries and its
        // write. Callers that want their messages out first send them first (the node flushes a
        // leader's appends before its save).
        const h = opened.get(cached) ?? (await cached);
        if (writeOnLoopThread(h, offset, bytes)) return;
        const started = performance.now();
        try {
          if (helper && bytes.length <= blockingMax && !helper.busy) {
            const running = helper.writeDurable(h.fd, offset, bytes, waitMs);
            if (running === null || (await running) === 'done') return;
            // 'not-run': the helper thread died before starting it; write it the other way.
          }
          await writeAll(h, offset, bytes);
          await h.datasync();
        } finally {
          diskFast = performance.now() - started <= waitMs;
        }
      } finally {
        release(cached);
      }
    },
    async truncate(path, size) {
      const abs = resolve(path);
      const h = handles.get(abs);
      if (h) await (await h).truncate(size);
      else {
        const fh = await open(abs, constants.O_RDWR);
        try {
          await fh.truncate(size);
        } finally {
          await fh.close();
        }
      }
    },
    async sync(path) {
      const abs = resolve(path);
      const h = handles.get(abs);
      if (h) {
        await (await h).datasync();
        return;
      }
      const fh = await open(abs, constants.O_RDWR);
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    },
    async rename(from, to) {
      const a = resolve(from);
      const b = resolve(to);
      await drop(b);
      await rename(a, b);
      // The open handle still refers to the same inode; keep it under the new name.
      const h = handles.get(a);
      if (h) {
        handles.delete(a);
        handles.set(b, h);
      }
    },
    async remove(path) {
      const abs = resolve(path);
      await drop(abs);
      try {
        await unlink(abs);
      } catch (e) {
        if (!isCode(e, 'ENOENT')) throw e;
      }
    },
    async list(dir) {
      try {
        return (await readdir(resolve(dir))).sort();
      } catch (e) {
        if (isCode(e, 'ENOENT')) return [];
        throw e;
      }
    },
    async mkdir(dir) {
      await mkdir(resolve(dir), { recursive: true });
    },
    async syncDir(dir) {
      const fh = await open(resolve(dir), constants.O_RDONLY);
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
    async size(path) {
      try {
        return (await stat(resolve(path))).size;
      } catch (e) {
        if (isCode(e, 'ENOENT')) return null;
        throw e;
      }
    },
    async close() {
      await Promise.all([...handles.keys()].map((k) => drop(k)));
    },
  };
}

/**
 * Creates the data directory `dir` (and missing ancestors) so that it survives a power loss: a
 * new directory's entry is durable only once its parent is fsynced, and nothing below the data
 * dir (the WAL, the snapshots) syncs above it. Synchronous: it runs once at start-up, before
 * anything is written. Idempotent; an existing directory costs one `stat`.
 */
export function createDurableDirSync(dir: string): void {
  let first = resolvePath(dir);
  if (existsSync(first)) return;
  while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
  // One level at a time, not `recursive: true`: Node's recursive mkdir retries forever where a
  // parent refuses new entries with ENOENT (under /proc), at full CPU and deaf to SIGTERM.
  const missing: string[] = [];
  for (let d = resolvePath(dir); ; d = dirname(d)) {
    missing.unshift(d);
    if (d === first) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      // Another member starting beside this one made it first (a shared parent).
      if (!((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(d).isDirectory())) throw e;
    }
  }
  // Every created directory's entry lives in its parent: sync from the deepest up to the parent
  // of the first one created (which existed before).
  for (let d = resolvePath(dir); ; d = dirname(d)) {
    const fd = openSync(dirname(d), constants.O_RDONLY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (d === first) break;
  }
}
