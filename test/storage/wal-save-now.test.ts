/**
 * `Wal.saveNow`: a save completed on the calling thread (`FileSystem.writeDurableNow`) must leave
 * exactly the files the asynchronous path (`writeBatch`) leaves, and fail the same way.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeFileSystem, type NodeFileSystem } from '../../runtime/env/node-fs.js';
import type { FileSystem } from '../../runtime/env/types.js';
import type { WalEntry } from '../../runtime/storage/record.js';
import { openWal, type Wal } from '../../runtime/storage/wal.js';

const dirs: string[] = [];
const systems: NodeFileSystem[] = [];
afterEach(async () => {
  for (const fs of systems.splice(0)) await fs.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function nodeFs(onLoopThread: boolean): Promise<NodeFileSystem> {
  const dir = await mkdtemp(join(tmpdir(), 'vibee-savenow-'));
  dirs.push(dir);
  const fs = createNodeFileSystem(dir, { syncOnLoopThread: () => onLoopThread });
  systems.push(fs);
  return fs;
}

const entry = (index: number, term: number, payload: Uint8Array | string): WalEntry => ({
  index,
  term,
  payload: typeof payload === 'string' ? new TextEncoder().encode(payload) : payload,
});

/** Saves through `saveNow`, awaiting when it did not complete; records which way each went. */
async function save(wal: Wal, ways: string[], entries: WalEntry[], hs?: Parameters<Wal['save']>[1]) {
  const pending = wal.saveNow(entries, hs);
  ways.push(pending === undefined ? 'now' : 'async');
  if (pending) await pending;
}

/** Entries, a buffered commit, a truncation, a term change, and rollovers of small segments. */
async function workload(fs: FileSystem): Promise<{ ways: string[]; stats: ReturnType<Wal['stats']> }> {
  const { wal } = await openWal(fs, 'wal', { segmentSize: 8192, preallocate: 'sparse' });
  const ways: string[] = [];
  await save(wal, ways, [entry(1, 1, 'a')], { term: 1, votedFor: 'x', commit: 0 });
  wal.append([], { term: 1, votedFor: 'x', commit: 1 });
  await save(wal, ways, [entry(2, 1, 'bb')]);
  wal.truncateSuffix(2);
  await save(wal, ways, [entry(2, 2, 'ccc')], { term: 2, votedFor: 'y', commit: 1 });
  for (let i = 3; i < 60; i++) await save(wal, ways, [entry(i, 2, new Uint8Array(300).fill(i))]);
  const stats = wal.stats();
  await wal.close();
  return { ways, stats };
}

async function files(fs: NodeFileSystem): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(join(fs.root, 'wal'))).sort())
    out[name] = (await readFile(join(fs.root, 'wal', name))).toString('hex');
  return out;
}

describe('Wal.saveNow', () => {
  it('writes on the calling thread exactly the files the asynchronous path writes', async () => {
    const now = await nodeFs(true);
    const later = await nodeFs(false);
    const a = await workload(now);
    const b = await workload(later);
    // Most saves completed synchronously, the rollovers did not; the other WAL never did.
    expect(a.ways.filter((w) => w === 'now').length).toBeGreaterThan(40);
    expect(a.ways).toContain('async');
    expect(b.ways.every((w) => w === 'async')).toBe(true);
    expect(await files(now)).toEqual(await files(later));
    expect(a.stats).toEqual(b.stats);
    const { recovered } = await openWal(now, 'wal', { segmentSize: 8192, preallocate: 'sparse' });
    expect(recovered.lastIndex).toBe(59);
    expect(recovered.hardState).toEqual({ term: 2, votedFor: 'y', commit: 1 });
  });

  it('when the calling thread cannot write, the batch it encoded is the one written', async () => {
    const base = await nodeFs(false);
    const offered: Uint8Array[] = [];
    const written: Uint8Array[] = [];
    const fs: FileSystem = {
      ...base,
      writeDurableNow: (_path, _offset, bytes) => {
        offered.push(bytes);
        return false;
      },
      writeDurable: (path, offset, bytes) => {
        written.push(bytes);
        return (base.writeDurable as NonNullable<FileSystem['writeDurable']>)(path, offset, bytes);
      },
    };
    const { wal } = await openWal(fs, 'wal', { segmentSize: 1 << 20, preallocate: 'sparse' });
    await wal.save([entry(1, 1, new Uint8Array(4000).fill(7))], { term: 1, votedFor: null, commit: 0 });
    await wal.save([entry(2, 1, 'x')]);
    expect(offered.length).toBe(2);
    // The same buffers: encoded once per batch, not again by the asynchronous path.
    expect(written).toEqual(offered);
    expect(written[0]).toBe(offered[0]);
    expect(written[1]).toBe(offered[1]);
    await wal.close();
    const { recovered } = await openWal(base, 'wal', { segmentSize: 1 << 20, preallocate: 'sparse' });
    expect(recovered.lastIndex).toBe(2);
  });

  it('a disk error on the calling thread fails the WAL: nothing is acknowledged after it', async () => {
    const base = await nodeFs(true);
    let failing = false;
    const fs: FileSystem = {
      ...base,
      writeDurableNow: (path, offset, bytes) => {
        if (failing) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
        return (base.writeDurableNow as NonNullable<FileSystem['writeDurableNow']>)(path, offset, bytes);
      },
    };
    const { wal } = await openWal(fs, 'wal', { segmentSize: 1 << 20, preallocate: 'sparse' });
    expect(wal.saveNow([entry(1, 1, 'x')])).toBeUndefined();
    failing = true;
    expect(() => wal.saveNow([entry(2, 1, 'y')])).toThrow(/EIO/);
    expect(wal.failed?.name).toBe('StorageFailedError');
    await expect(wal.sync()).rejects.toThrow(/EIO/);
    expect(() => wal.append([entry(3, 1, 'z')])).toThrow();
    await wal.close();
    const { recovered } = await openWal(base, 'wal', { segmentSize: 1 << 20, preallocate: 'sparse' });
    expect(recovered.lastIndex).toBe(1);
  });
});
