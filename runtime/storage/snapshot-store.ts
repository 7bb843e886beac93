/**
 * Snapshots, each in its own checksummed file, written atomically: temp file, sync, rename,
 * directory sync. Older snapshots are removed only after the new one is durable, and `load`
 * falls back to the newest snapshot that verifies, so a damaged newest file costs only recency.
 *
 * File layout (little-endian):
 *   0  u32 magic 'VSNP'   4 u32 version 1   8 u32 crc32 of bytes [12, end)
 *   12 u64 index   20 u64 term   28 u32 configuration length C   32 C bytes of configuration JSON
 *   32+C u64 data length D   40+C D bytes of data
 */
import { posix } from 'node:path';
import { crc32 } from 'node:zlib';
import type { FileSystem } from '../env/types.js';
import { ensureDurableDir, removeIfExists } from './fs-util.js';
import { getU64, putU64 } from './record.js';

/** A state machine snapshot with the log position and cluster configuration it covers. */
export interface Snapshot {
  /** Last log index included. */
  index: number;
  /** Term of that entry. */
  term: number;
  /** The cluster configuration as of `index` (any JSON value; the Raft layer defines its shape). */
  configuration: unknown;
  /** The state machine's serialized state. */
  data: Uint8Array;
}

/** Options of `openSnapshotStore`. */
export interface SnapshotStoreOptions {
  /** How many verified snapshots to keep (the newest first). Default 2, minimum 1. */
  retain?: number;
}

/** A snapshot file that `load` skipped, and why. */
export interface SkippedSnapshot {
  file: string;
  reason: string;
}

const MAGIC = 0x5653_4e50; // 'VSNP'
const VERSION = 1;
const NAME = /^(\d{20})-(\d{20})\.snap$/;
const TMP_SUFFIX = '.tmp';

/** File name of the snapshot at (index, term). */
export function snapshotFileName(index: number, term: number): string {
  return `${String(index).padStart(20, '0')}-${String(term).padStart(20, '0')}.snap`;
}

/** Serializes a snapshot to the file layout above. */
export function encodeSnapshot(s: Snapshot): Uint8Array {
  const head = encodeSnapshotHead(s);
  const out = new Uint8Array(head.length + s.data.length);
  out.set(head, 0);
  out.set(s.data, head.length);
  return out;
}

/**
 * The file's bytes before the data (magic to data length, the checksum over the data included):
 * `save` writes these and then `s.data` as it is, so a large snapshot is not copied once more.
 */
export function encodeSnapshotHead(s: Snapshot): Uint8Array {
  const out = headWithoutChecksum(s);
  setChecksum(out, crc32(s.data, crc32(out.subarray(12))));
  return out;
}

/** The head with a zero checksum (what the checksum covers starts after it, at byte 12). */
function headWithoutChecksum(s: Snapshot): Uint8Array {
  const config = new TextEncoder().encode(JSON.stringify(s.configuration ?? null));
  const out = new Uint8Array(40 + config.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  putU64(view, 12, s.index);
  putU64(view, 20, s.term);
  view.setUint32(28, config.length, true);
  out.set(config, 32);
  putU64(view, 32 + config.length, s.data.length);
  return out;
}

function setChecksum(head: Uint8Array, crc: number): void {
  new DataView(head.buffer, head.byteOffset, head.length).setUint32(8, crc, true);
}

/**
 * Data beyond this is checksummed and written in steps of this size, each step's write awaited:
 * a checksum over the whole of a 60 MB state in one call kept the event loop (heartbeats, client
 * requests) waiting about 30 ms, and longer on a loaded machine.
 */
export const SNAPSHOT_WRITE_STEP_BYTES = 4 * 1024 * 1024;

/** Parses and verifies a snapshot file; throws an Error saying what is wrong. */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  if (bytes.length < 40) throw new Error(`file is too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.getUint32(0, true) !== MAGIC) throw new Error('bad magic');
  if (view.getUint32(4, true) !== VERSION) throw new Error(`unsupported version ${view.getUint32(4, true)}`);
  if (crc32(bytes.subarray(12)) !== view.getUint32(8, true)) throw new Error('checksum mismatch');
  const clen = view.getUint32(28, true);
  if (40 + clen > bytes.length) throw new Error('configuration length out of range');
  const dlen = getU64(view, 32 + clen);
  if (40 + clen + dlen !== bytes.length) throw new Error('data length does not match the file size');
  return {
    index: getU64(view, 12),
    term: getU64(view, 20),
    configuration: JSON.parse(new TextDecoder().decode(bytes.subarray(32, 32 + clen))),
    data: bytes.slice(40 + clen),
  };
}

/** Durable snapshot files in one directory. */
export class SnapshotStore {
  private readonly retain: number;

  /** @internal use `openSnapshotStore`. */
  constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    opts: SnapshotStoreOptions,
  ) {
    this.retain = Math.max(1, opts.retain ?? 2);
  }

  /**
   * Writes `s` atomically and durably (temp file, sync, rename, directory sync), then removes
   * snapshots beyond `retain`. Resolves once the new snapshot is durable and pruning is done.
   * Returns the file name.
   */
  async save(s: Snapshot): Promise<string> {
    const name = snapshotFileName(s.index, s.term);
    const tmp = posix.join(this.dir, name + TMP_SUFFIX);
    const path = posix.join(this.dir, name);
    await removeIfExists(this.fs, tmp);
    try {
      if (s.data.length <= SNAPSHOT_WRITE_STEP_BYTES) {
        const head = encodeSnapshotHead(s);
        await this.fs.write(tmp, 0, head);
        await this.fs.write(tmp, head.length, s.data);
      } else {
        // The checksum is known only after the data: the head goes first with a zero one, which
        // is set last. Nothing reads the file before the rename.
        const head = headWithoutChecksum(s);
        await this.fs.write(tmp, 0, head);
        let crc = crc32(head.subarray(12));
        for (let at = 0; at < s.data.length; at += SNAPSHOT_WRITE_STEP_BYTES) {
          const step = s.data.subarray(at, Math.min(at + SNAPSHOT_WRITE_STEP_BYTES, s.data.length));
          crc = crc32(step, crc);
          await this.fs.write(tmp, head.length + at, step);
        }
        setChecksum(head, crc);
        await this.fs.write(tmp, 8, head.subarray(8, 12));
      }
      await this.fs.sync(tmp);
    } catch (e) {
      // A partial temp file would keep the space a full disk needs back (best effort).
      await removeIfExists(this.fs, tmp).catch(() => undefined);
      throw e;
    }
    await this.fs.rename(tmp, path);
    await this.fs.syncDir(this.dir);
    await this.prune();
    return name;
  }

  /** The newest snapshot that verifies (null when none), and the files skipped on the way. */
  async load(): Promise<{ snapshot: Snapshot | null; file: string | null; skipped: SkippedSnapshot[] }> {
    const skipped: SkippedSnapshot[] = [];
    for (const name of (await this.names()).reverse()) {
      const file = posix.join(this.dir, name);
      const bytes = await this.fs.readFile(file);
      if (!bytes) continue;
      try {
        const snapshot = decodeSnapshot(bytes);
        const m = NAME.exec(name);
        if (Number(m?.[1]) !== snapshot.index || Number(m?.[2]) !== snapshot.term) {
          throw new Error(`contents (${snapshot.index}, ${snapshot.term}) do not match the file name`);
        }
        return { snapshot, file, skipped };
      } catch (e) {
        skipped.push({ file, reason: (e as Error).message });
      }
    }
    return { snapshot: null, file: null, skipped };
  }

  /** Snapshot file names, oldest first. */
  async names(): Promise<string[]> {
    return (await this.fs.list(this.dir)).filter((n) => NAME.test(n)).sort();
  }

  private async prune(): Promise<void> {
    const names = await this.names();
    const old = names.slice(0, Math.max(0, names.length - this.retain));
    for (const n of old) await this.fs.remove(posix.join(this.dir, n));
    if (old.length > 0) await this.fs.syncDir(this.dir);
  }
}

/** Opens the snapshot directory, creating it and removing temp files left by a crash. */
export async function openSnapshotStore(
  fs: FileSystem,
  dir: string,
  opts: SnapshotStoreOptions = {},
): Promise<SnapshotStore> {
  await ensureDurableDir(fs, dir);
  const leftovers = (await fs.list(dir)).filter((n) => n.endsWith(TMP_SUFFIX));
  for (const n of leftovers) await fs.remove(posix.join(dir, n));
  if (leftovers.length > 0) await fs.syncDir(dir);
  return new SnapshotStore(fs, dir, opts);
}
