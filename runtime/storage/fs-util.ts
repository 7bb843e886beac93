/**
 * Small helpers over the env FileSystem that the storage code needs on every implementation
 * (node:fs, the simulator's disk, the test memory fs), whose edge cases differ.
 */
import { posix } from 'node:path';
import type { FileSystem } from '../env/types.js';

/**
 * Creates `dir` (and missing ancestors) and makes the entries durable: a directory entry, like a
 * file's, survives a crash only once its parent directory is synced. Idempotent.
 */
export async function ensureDurableDir(fs: FileSystem, dir: string): Promise<void> {
  await fs.mkdir(dir);
  let d = posix.normalize(dir);
  while (d !== '.' && d !== '/' && d !== '') {
    const parent = posix.dirname(d);
    await fs.syncDir(parent);
    d = parent;
  }
}

/** Removes `path`; a file that is already gone is fine (implementations differ on ENOENT). */
export async function removeIfExists(fs: FileSystem, path: string): Promise<void> {
  try {
    await fs.remove(path);
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code !== 'ENOENT') throw e;
  }
}
