/**
 * An in-memory FileSystem with the crash semantics of the env contract, for storage tests:
 * file data is durable after `sync(path)`, names (creations, renames, removals) after `syncDir`
 * of their directory; `crash()` keeps exactly the durable state, plus optionally a torn prefix of
 * the last unsynced write. A directory made by `mkdir` is durable once its parent is synced; a
 * crash loses the files under a directory that was not.
 * Faults: `failOn(op, code)` makes a matching call throw an fs-style error.
 */
import { posix } from 'node:path';
import type { FileSystem } from '../../runtime/env/types.js';

interface Inode {
  data: Uint8Array;
  durable: Uint8Array;
}

type Match = (path: string, bytes?: Uint8Array) => boolean;

type Op =
  | 'readFile'
  | 'write'
  | 'truncate'
  | 'sync'
  | 'rename'
  | 'remove'
  | 'list'
  | 'mkdir'
  | 'syncDir'
  | 'size';

function norm(p: string): string {
  const n = posix.normalize(p);
  return n === '.' || n === '' ? '.' : n.replace(/\/$/, '');
}

/** See the module comment. */
export class MemoryFileSystem implements FileSystem {
  private names = new Map<string, Inode>();
  private durableNames = new Map<string, Inode>();
  private dirs = new Set<string>(['.']);
  private durableDirs = new Set<string>(['.']);
  private lastWrite: { inode: Inode; offset: number; bytes: Uint8Array } | null = null;
  private faults: Array<{ op: Op; code: string; path?: string; match?: Match; remaining: number }> = [];
  /** Call counters per operation. */
  readonly calls: Record<Op, number> = {
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
  };

  /**
   * Makes the next `times` calls of `op` (optionally only on `path`, or only those `match`
   * accepts) throw an error with `code`.
   */
  failOn(op: Op, code: string, opts: { path?: string; match?: Match; times?: number } = {}): void {
    this.faults.push({ op, code, path: opts.path, match: opts.match, remaining: opts.times ?? 1 });
  }

  /** After `calls` more calls, every call throws EIO until `crash()` (the machine lost power). */
  haltAfter(calls: number): void {
    this.haltIn = calls;
  }

  private haltIn = -1;

  private enter(op: Op, path?: string, bytes?: Uint8Array): void {
    this.calls[op]++;
    if (this.haltIn === 0)
      throw Object.assign(new Error(`EIO: halted, ${op} '${path ?? ''}'`), { code: 'EIO' });
    if (this.haltIn > 0) this.haltIn--;
    const f = this.faults.find(
      (x) =>
        x.op === op &&
        (x.path === undefined || x.path === path) &&
        (x.match === undefined || x.match(path ?? '', bytes)) &&
        x.remaining > 0,
    );
    if (f) {
      f.remaining--;
      const err = new Error(`${f.code}: injected fault, ${op} '${path ?? ''}'`) as Error & { code: string };
      err.code = f.code;
      throw err;
    }
  }

  /** Sets a file's content durably (name and data), for building fault cases. */
  setFile(path: string, bytes: Uint8Array): void {
    const p = norm(path);
    for (let d = posix.dirname(p); d !== '.'; d = posix.dirname(d)) {
      this.dirs.add(d);
      this.durableDirs.add(d);
    }
    const inode: Inode = { data: bytes.slice(), durable: bytes.slice() };
    this.names.set(p, inode);
    this.durableNames.set(p, inode);
  }

  /** Current content (a copy), or null. */
  getFile(path: string): Uint8Array | null {
    return this.names.get(norm(path))?.data.slice() ?? null;
  }

  /** Simulates power loss: keeps durable state, plus `tornBytes` of the last unsynced write. */
  crash(opts: { tornBytes?: number } = {}): void {
    const torn = this.lastWrite;
    const names = new Map<string, Inode>();
    const reachable = (p: string): boolean => {
      for (let d = posix.dirname(p); d !== '.'; d = posix.dirname(d))
        if (!this.durableDirs.has(d)) return false;
      return true;
    };
    this.dirs = new Set([...this.durableDirs].filter((d) => d === '.' || reachable(`${d}/x`)));
    this.durableDirs = new Set(this.dirs);
    for (const [p, inode] of this.durableNames) {
      if (!reachable(p)) continue;
      inode.data = inode.durable.slice();
      names.set(p, inode);
    }
    if (torn && opts.tornBytes && [...names.values()].includes(torn.inode)) {
      const part = torn.bytes.subarray(0, Math.min(opts.tornBytes, torn.bytes.length));
      grow(torn.inode, torn.offset + part.length);
      torn.inode.data.set(part, torn.offset);
      torn.inode.durable = torn.inode.data.slice();
    }
    this.durableNames = new Map(names);
    this.names = names;
    this.lastWrite = null;
    this.faults = [];
    this.haltIn = -1;
  }

  async readFile(path: string): Promise<Uint8Array | null> {
    this.enter('readFile', path);
    return this.names.get(norm(path))?.data.slice() ?? null;
  }

  async write(path: string, offset: number, bytes: Uint8Array): Promise<void> {
    this.enter('write', path, bytes);
    const p = norm(path);
    if (!this.dirs.has(posix.dirname(p))) throw fsError('ENOENT', path);
    let inode = this.names.get(p);
    if (!inode) {
      inode = { data: new Uint8Array(0), durable: new Uint8Array(0) };
      this.names.set(p, inode);
    }
    grow(inode, offset + bytes.length);
    inode.data.set(bytes, offset);
    this.lastWrite = { inode, offset, bytes: bytes.slice() };
  }

  async truncate(path: string, size: number): Promise<void> {
    this.enter('truncate', path);
    const inode = this.names.get(norm(path));
    if (!inode) throw fsError('ENOENT', path);
    const next = new Uint8Array(size);
    next.set(inode.data.subarray(0, Math.min(size, inode.data.length)));
    inode.data = next;
  }

  async sync(path: string): Promise<void> {
    this.enter('sync', path);
    const inode = this.names.get(norm(path));
    if (!inode) throw fsError('ENOENT', path);
    inode.durable = inode.data.slice();
    if (this.lastWrite?.inode === inode) this.lastWrite = null;
  }

  async rename(from: string, to: string): Promise<void> {
    this.enter('rename', from);
    const inode = this.names.get(norm(from));
    if (!inode) throw fsError('ENOENT', from);
    this.names.delete(norm(from));
    this.names.set(norm(to), inode);
  }

  async remove(path: string): Promise<void> {
    this.enter('remove', path);
    // Like the simulator's disk (node's unlink too): removing a missing file is ENOENT.
    if (!this.names.delete(norm(path))) throw fsError('ENOENT', path);
  }

  async list(dir: string): Promise<string[]> {
    this.enter('list', dir);
    const d = norm(dir);
    return [...this.names.keys()]
      .filter((p) => posix.dirname(p) === d)
      .map((p) => posix.basename(p))
      .sort();
  }

  async mkdir(dir: string): Promise<void> {
    this.enter('mkdir', dir);
    let d = norm(dir);
    while (d !== '.' && d !== '/') {
      this.dirs.add(d);
      d = posix.dirname(d);
    }
  }

  async syncDir(dir: string): Promise<void> {
    this.enter('syncDir', dir);
    const d = norm(dir);
    for (const p of [...this.durableNames.keys()]) if (posix.dirname(p) === d) this.durableNames.delete(p);
    for (const [p, inode] of this.names) if (posix.dirname(p) === d) this.durableNames.set(p, inode);
    for (const sub of this.dirs) if (sub !== '.' && posix.dirname(sub) === d) this.durableDirs.add(sub);
  }

  async size(path: string): Promise<number | null> {
    this.enter('size', path);
    return this.names.get(norm(path))?.data.length ?? null;
  }
}

function grow(inode: Inode, size: number): void {
  if (inode.data.length >= size) return;
  const next = new Uint8Array(size);
  next.set(inode.data);
  inode.data = next;
}

function fsError(code: string, path: string): Error {
  const e = new Error(`${code}: no such file or directory, '${path}'`) as Error & { code: string };
  e.code = code;
  return e;
}
