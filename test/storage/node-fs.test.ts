import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createDurableDirSync,
  createNodeFileSystem,
  type NodeFileSystem,
} from '../../runtime/env/node-fs.js';

describe('createNodeFileSystem', () => {
  let dir: string;
  let fs: NodeFileSystem;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vibee-nodefs-'));
    fs = createNodeFileSystem(dir, { maxOpenHandles: 3 });
  });
  afterEach(async () => {
    await fs.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports absent files and dirs as null and []', async () => {
    expect(await fs.readFile('nope')).toBeNull();
    expect(await fs.size('nope')).toBeNull();
    expect(await fs.list('no/such/dir')).toEqual([]);
    await fs.remove('nope'); // idempotent
  });

  it('writeDurable writes at the offset on both paths (the bounded-sync helper for small batches, thread pool above the limit)', async () => {
    const small = createNodeFileSystem(dir, { blockingSyncMaxBytes: 16 });
    try {
      await small.writeDurable?.('w', 0, new Uint8Array(8).fill(7));
      await small.writeDurable?.('w', 8, new Uint8Array(40).fill(9)); // above the limit: thread pool
      const got = new Uint8Array(await readFile(join(dir, 'w')));
      expect(got.length).toBe(48);
      expect(got.subarray(0, 8).every((b) => b === 7)).toBe(true);
      expect(got.subarray(8).every((b) => b === 9)).toBe(true);
    } finally {
      await small.close();
    }
  });

  it('writes at offsets (creating and growing files), truncates, syncs, sizes', async () => {
    await fs.mkdir('a/b');
    await fs.write('a/b/f', 4, new Uint8Array([1, 2, 3]));
    await fs.write('a/b/f', 0, new Uint8Array([9]));
    await fs.sync('a/b/f');
    expect(await fs.readFile('a/b/f')).toEqual(new Uint8Array([9, 0, 0, 0, 1, 2, 3]));
    await fs.truncate('a/b/f', 100);
    expect(await fs.size('a/b/f')).toBe(100);
    await fs.truncate('a/b/f', 2);
    expect(new Uint8Array(await readFile(join(dir, 'a/b/f')))).toEqual(new Uint8Array([9, 0]));
    await fs.syncDir('a/b');
    await fs.syncDir('.');
    expect(await fs.list('a')).toEqual(['b']);
  });

  it('keeps writing to the right file after rename and with more files than cached handles', async () => {
    for (let i = 0; i < 6; i++) await fs.write(`f${i}`, 0, new Uint8Array([i]));
    await fs.rename('f0', 'g0');
    await fs.write('g0', 1, new Uint8Array([7]));
    await fs.write('f0', 0, new Uint8Array([5])); // a new file under the old name
    for (let i = 1; i < 6; i++) await fs.sync(`f${i}`);
    expect(await fs.readFile('g0')).toEqual(new Uint8Array([0, 7]));
    expect(await fs.readFile('f0')).toEqual(new Uint8Array([5]));
    expect(await fs.list('.')).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'g0']);
    await fs.remove('g0');
    expect(await fs.readFile('g0')).toBeNull();
  });

  it('rename over an existing file replaces it', async () => {
    await writeFile(join(dir, 'old'), 'old');
    await fs.write('new', 0, new TextEncoder().encode('new'));
    await fs.rename('new', 'old');
    expect(new TextDecoder().decode((await fs.readFile('old')) as Uint8Array)).toBe('new');
  });

  it('refuses paths that escape the data dir', async () => {
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', '..']) {
      await expect(fs.readFile(bad), bad).rejects.toMatchObject({ code: 'EACCES' });
      await expect(fs.write(bad, 0, new Uint8Array(1)), bad).rejects.toThrow(/escapes the data dir/);
    }
    await fs.write('a/../inside', 0, new Uint8Array([1]));
    expect(await fs.readFile('inside')).toEqual(new Uint8Array([1]));
  });

  it('surfaces real errors (not ENOENT) to the caller', async () => {
    await fs.mkdir('d');
    await expect(fs.readFile('d')).rejects.toMatchObject({ code: 'EISDIR' });
  });
});

describe('createDurableDirSync', () => {
  it('creates missing ancestors and accepts an existing directory', () => {
    const root = mkdtempSync(join(tmpdir(), 'durable-dir-'));
    try {
      const dir = join(root, 'a', 'b', 'c');
      createDurableDirSync(dir);
      expect(statSync(dir).isDirectory()).toBe(true);
      createDurableDirSync(dir);
      createDurableDirSync(root);
      expect(readdirSync(root)).toEqual(['a']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
