/**
 * The real `FileSystem` of the env contract on node:fs/promises, rooted at a data dir.
 * `sync` is fdatasync on a handle kept open per path (reopening per write and per sync costs two
 * syscalls and a path lookup on the hot WAL path); `syncDir` fsyncs the directory itself, which
 * is what makes creations, renames and removals durable on Linux.
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
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
}

/** Writes all of `bytes` at `offset` (a positional write may be short). */
async function writeAll(h: FileHandle, offset: number, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await h.write(bytes, done, bytes.length - done, offset + done);
    done += bytesWritten;
  }
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
  const waitMs = opts.blockingSyncWaitMs ?? 20;
  // Started now, so that its thread is up by the first WAL write.
  const helper = (opts.blockingSyncMaxBytes ?? 64 * 1024) > 0 ? boundedSync() : null;
  const blockingMax = Math.min(opts.blockingSyncMaxBytes ?? 64 * 1024, helper?.maxBytes ?? 0);
  // Open (or opening) handles by resolved path; insertion order approximates age.
  const handles = new Map<string, Promise<FileHandle>>();
  /** Handed-back writes still running on a handle's descriptor: it must not close before them. */
  const inUse = new Map<string, Promise<unknown>>();

  function resolve(path: string): string {
    const n = normalize(path);
    if (isAbsolute(path) || n === '..' || n.startsWith(`..${sep}`)) {
      const e = new Error(`path '${path}' escapes the data dir ${root}`) as Error & { code: string };
      e.code = 'EACCES';
      throw e;
    }
    return join(root, n);
  }

  async function handle(abs: string): Promise<FileHandle> {
    const existing = handles.get(abs);
    if (existing) return existing;
    const opening = open(abs, constants.O_RDWR | constants.O_CREAT, 0o644);
    handles.set(abs, opening);
    opening.catch(() => handles.delete(abs));
    if (handles.size > maxOpen) {
      // The oldest handle no write is pending on (closing one under a pending write would wait).
      for (const k of handles.keys()) {
        if (k === abs || inUse.has(k)) continue;
        await drop(k);
        break;
      }
    }
    return opening;
  }

  async function drop(abs: string): Promise<void> {
    const h = handles.get(abs);
    if (!h) return;
    handles.delete(abs);
    // A handed-back write still uses the descriptor: closing it now could let a new file reuse the
    // number before that write's fdatasync, which would then sync the wrong file.
    await inUse.get(abs);
    try {
      await (await h).close();
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
    async writeDurable(path, offset, bytes) {
      const abs = resolve(path);
      const h = await handle(abs);
      if (helper && bytes.length <= blockingMax && !helper.busy) {
        // Runs after the microtasks queued before it (e.g. the transport's flush of the appends
        // this batch goes with), because `handle` always yields once.
        const running = helper.writeDurable(h.fd, offset, bytes, waitMs);
        if (running) {
          const settled = running.catch(() => undefined);
          inUse.set(abs, settled);
          void settled.then(() => {
            for (const [k, v] of inUse) if (v === settled) inUse.delete(k); // renamed meanwhile
          });
          await running;
        }
        return;
      }
      await writeAll(h, offset, bytes);
      await h.datasync();
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
      const pending = inUse.get(a);
      if (pending) {
        inUse.delete(a);
        inUse.set(b, pending);
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
