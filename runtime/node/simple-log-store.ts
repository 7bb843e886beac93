import {
  type ClusterConfig,
  decodeClusterConfig,
  decodeLogEntry,
  encodeClusterConfig,
  encodeLogEntry,
  type HardState,
  type LogEntry,
} from '../../generated/index.js';
import type { FileSystem } from '../env/types.js';
import { crc32 } from '../raft/crc32.js';
import type { Snapshot } from '../raft/types.js';
import type { LoadedState, LogStore } from './log-store.js';

/**
 * A simple LogStore on `env.fs`: one append-only record file plus one snapshot file.
 *
 * Record framing: `[u32 payload length][u32 crc32(payload)][payload]`, payload = kind byte + body:
 * 1 = hard state (JSON), 2 = entry (generated LogEntry codec; a later entry at index i replaces
 * every entry at or after i), 3 = "drop all entries" marker. A torn or corrupt tail (the last
 * unsynced write after a crash) ends the replay and is truncated away. Compaction and snapshot
 * installation rewrite the file to a temporary name, sync it, rename it over and sync the
 * directory, so each is atomic. The snapshot file is written the same way.
 */
export class SimpleLogStore implements LogStore {
  private readonly logPath: string;
  private readonly snapPath: string;
  private readonly dir: string;
  private size = 0;
  private hs: HardState = { term: 0, votedFor: null, commit: 0 };
  private entries: LogEntry[] = [];
  private snapIndex = 0;
  private initialized = false;

  constructor(
    private readonly fs: FileSystem,
    dir = '',
  ) {
    this.dir = dir;
    const p = dir === '' ? '' : `${dir}/`;
    this.logPath = `${p}raft.log`;
    this.snapPath = `${p}raft.snap`;
  }

  async load(): Promise<LoadedState> {
    if (this.dir !== '') await this.fs.mkdir(this.dir).catch(() => undefined);
    let snapshot: Snapshot | null = null;
    const sbytes = await this.fs.readFile(this.snapPath);
    if (sbytes) snapshot = decodeSnapshotFile(sbytes);
    this.snapIndex = snapshot ? snapshot.meta.index : 0;
    const bytes = (await this.fs.readFile(this.logPath)) ?? new Uint8Array(0);
    let off = 0;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.entries = [];
    while (off + 8 <= bytes.length) {
      const len = dv.getUint32(off, true);
      const crc = dv.getUint32(off + 4, true);
      if (len === 0 || off + 8 + len > bytes.length) break;
      const payload = bytes.subarray(off + 8, off + 8 + len);
      if (crc32(payload) !== crc) break;
      if (!this.replay(payload)) break;
      off += 8 + len;
    }
    if (off < bytes.length) {
      await this.fs.truncate(this.logPath, off);
      await this.fs.sync(this.logPath);
    }
    this.size = off;
    // A crash while a leader's snapshot replaced the log (snapshot renamed in, log not yet
    // rewritten) leaves the old log: its suffix follows a different entry at the snapshot index and
    // is not part of the snapshot's history, so it is dropped (an entry there with the snapshot's
    // term proves the suffix consistent, by log matching).
    const atSnap = this.entries.find((e) => e.index === this.snapIndex);
    const divergent = snapshot !== null && atSnap !== undefined && atSnap.term !== snapshot.meta.term;
    this.entries = divergent ? [] : this.entries.filter((e) => e.index > this.snapIndex);
    // keep only a contiguous run directly after the snapshot
    const run: LogEntry[] = [];
    for (const e of this.entries) {
      if (e.index !== this.snapIndex + run.length + 1) break;
      run.push(e);
    }
    this.entries = run;
    if (bytes.length === 0) {
      await this.fs.write(this.logPath, 0, new Uint8Array(0));
      await this.fs.sync(this.logPath);
      await this.fs.syncDir(this.dir);
    }
    this.initialized = true;
    return { hardState: { ...this.hs }, entries: [...this.entries], snapshot };
  }

  private replay(payload: Uint8Array): boolean {
    const kind = payload[0];
    const body = payload.subarray(1);
    try {
      if (kind === 1) {
        this.hs = JSON.parse(new TextDecoder().decode(body)) as HardState;
      } else if (kind === 2) {
        const e = decodeLogEntry(body);
        const first = this.entries[0]?.index ?? e.index;
        if (e.index < first) this.entries = [];
        else this.entries.length = Math.min(this.entries.length, e.index - first);
        this.entries.push(e);
      } else if (kind === 3) {
        this.entries = [];
      } else return false;
    } catch {
      return false;
    }
    return true;
  }

  /** Runs `op` after every operation started before it (see LogStore: concurrency). */
  private exclusive(op: () => Promise<void>): Promise<void> {
    const run = this.tail.then(op);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private tail: Promise<void> = Promise.resolve();

  save(hardState: HardState | undefined, entries: readonly LogEntry[]): Promise<void> {
    return this.exclusive(() => this.persist(hardState, entries));
  }

  saveSnapshot(snapshot: Snapshot, replaceLog: boolean): Promise<void> {
    return this.exclusive(() => this.saveSnapshotNow(snapshot, replaceLog));
  }

  compact(index: number): Promise<void> {
    return this.exclusive(() => this.compactNow(index));
  }

  private async persist(hardState: HardState | undefined, entries: readonly LogEntry[]): Promise<void> {
    if (!this.initialized) throw new Error('SimpleLogStore: load() first');
    const recs: Uint8Array[] = [];
    for (const e of entries) {
      recs.push(record(2, encodeLogEntry(e)));
      const first = this.entries[0]?.index ?? e.index;
      if (e.index < first) this.entries = [];
      else this.entries.length = Math.min(this.entries.length, e.index - first);
      this.entries.push(e);
    }
    if (hardState) {
      recs.push(record(1, new TextEncoder().encode(JSON.stringify(hardState))));
      this.hs = { ...hardState };
    }
    if (recs.length === 0) return;
    const buf = concat(recs);
    await this.fs.write(this.logPath, this.size, buf);
    this.size += buf.length;
    await this.fs.sync(this.logPath);
  }

  private async saveSnapshotNow(snapshot: Snapshot, replaceLog: boolean): Promise<void> {
    const tmp = `${this.snapPath}.tmp`;
    const bytes = encodeSnapshotFile(snapshot);
    await this.fs.remove(tmp).catch(() => undefined);
    await this.fs.write(tmp, 0, bytes);
    await this.fs.sync(tmp);
    await this.fs.rename(tmp, this.snapPath);
    await this.fs.syncDir(this.dir);
    this.snapIndex = snapshot.meta.index;
    if (replaceLog) {
      this.entries = [];
      await this.rewrite();
    }
    // A local snapshot: the covered entries leave memory and the file in the `compact` that follows
    // (dropping them here already left that compact nothing to do, so the file grew forever).
  }

  private async compactNow(index: number): Promise<void> {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.index > Math.min(index, this.snapIndex));
    if (this.entries.length !== before) await this.rewrite();
  }

  /** Rewrites the record file from memory (atomic: temp file, sync, rename, sync dir). */
  private async rewrite(): Promise<void> {
    const tmp = `${this.logPath}.tmp`;
    const recs = [record(1, new TextEncoder().encode(JSON.stringify(this.hs))), record(3, new Uint8Array(0))];
    for (const e of this.entries) recs.push(record(2, encodeLogEntry(e)));
    const buf = concat(recs);
    await this.fs.remove(tmp).catch(() => undefined);
    await this.fs.write(tmp, 0, buf);
    await this.fs.sync(tmp);
    await this.fs.rename(tmp, this.logPath);
    await this.fs.syncDir(this.dir);
    this.size = buf.length;
  }
}

function record(kind: number, body: Uint8Array): Uint8Array {
  const payload = new Uint8Array(1 + body.length);
  payload[0] = kind;
  payload.set(body, 1);
  const out = new Uint8Array(8 + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, payload.length, true);
  dv.setUint32(4, crc32(payload), true);
  out.set(payload, 8);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Snapshot file: [u32 index][u32 term][u32 cfgLen][cfg][data...][u32 crc of everything before]. */
function encodeSnapshotFile(s: Snapshot): Uint8Array {
  const cfg = encodeClusterConfig(s.meta.config);
  const out = new Uint8Array(12 + cfg.length + s.data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, s.meta.index, true);
  dv.setUint32(4, s.meta.term, true);
  dv.setUint32(8, cfg.length, true);
  out.set(cfg, 12);
  out.set(s.data, 12 + cfg.length);
  dv.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

function decodeSnapshotFile(b: Uint8Array): Snapshot | null {
  if (b.length < 16) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (crc32(b.subarray(0, b.length - 4)) !== dv.getUint32(b.length - 4, true)) return null;
  const cfgLen = dv.getUint32(8, true);
  const config: ClusterConfig = decodeClusterConfig(b.subarray(12, 12 + cfgLen));
  return {
    meta: { index: dv.getUint32(0, true), term: dv.getUint32(4, true), config },
    data: b.slice(12 + cfgLen, b.length - 4),
  };
}
