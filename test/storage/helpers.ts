/** Shared helpers for the storage tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeFileSystem } from '../../runtime/env/node-fs.js';
import type { FileSystem } from '../../runtime/env/types.js';
import type { WalEntry } from '../../runtime/storage/index.js';
import { MemoryFileSystem } from './memory-fs.js';

/** A deterministic entry whose payload encodes its index and term (and a variable length). */
export function entry(index: number, term: number, extra = 0): WalEntry {
  const payload = new TextEncoder().encode(`e${index}t${term}${'x'.repeat((index * 7 + extra) % 23)}`);
  return { index, term, payload };
}

/** A range of entries [from, to] in one term. */
export function entries(from: number, to: number, term: number): WalEntry[] {
  const out: WalEntry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

/** Comparable form of entries. */
export function show(es: readonly WalEntry[]): string[] {
  return es.map((e) => `${e.index}/${e.term}/${new TextDecoder().decode(e.payload)}`);
}

/** A file system under test plus how to "restart" on it and clean up. */
export interface FsUnderTest {
  fs: FileSystem;
  /** Returns the fs a restarted process would see (memory: after a clean crash, i.e. durable state). */
  restart(): Promise<FileSystem>;
  cleanup(): Promise<void>;
}

/** The two file systems every round-trip test runs on. */
export const fileSystems: Array<[string, () => Promise<FsUnderTest>]> = [
  [
    'memory',
    async () => {
      const fs = new MemoryFileSystem();
      return {
        fs,
        async restart() {
          fs.crash();
          return fs;
        },
        async cleanup() {},
      };
    },
  ],
  [
    'node',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vibee-storage-'));
      let fs = createNodeFileSystem(dir);
      return {
        get fs() {
          return fs;
        },
        async restart() {
          await fs.close();
          fs = createNodeFileSystem(dir);
          return fs;
        },
        async cleanup() {
          await fs.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  ],
];
