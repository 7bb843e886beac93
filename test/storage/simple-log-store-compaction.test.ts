/**
 * SimpleLogStore after local snapshots: the entries a snapshot covers leave the record file in the
 * compact that follows, so the file and the replay at load() stay bounded by the entries after
 * the last snapshot.
 */
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../generated/index.js';
import { SimpleLogStore } from '../../runtime/node/simple-log-store.js';
import { MemoryFileSystem } from './memory-fs.js';

const config = { voters: ['a'], votersOutgoing: [], learners: [], addresses: [] };

function ents(from: number, to: number): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++)
    out.push({
      index: i,
      term: 1,
      entryType: 'command',
      command: new Uint8Array(100).fill(i & 0xff),
      timestamp: 0,
    });
  return out;
}

/**
 * The node's local snapshot calls `saveSnapshot(s, false)` then `compact(index)` (node.ts
 * maybeSnapshot). SimpleLogStore's saveSnapshot drops the covered entries from memory only, so the
 * following compact finds nothing to drop and never rewrites the file: the record file (the
 * default store of createNode) keeps every entry ever written and grows without bound.
 */
describe('SimpleLogStore local snapshot compaction', () => {
  it('a local snapshot followed by compact shrinks the record file', async () => {
    const fs = new MemoryFileSystem();
    const store = new SimpleLogStore(fs, 'd');
    await store.load();
    for (let round = 0; round < 5; round++) {
      const from = round * 100 + 1;
      const to = from + 99;
      await store.save({ term: 1, votedFor: 'a', commit: to }, ents(from, to));
      // exactly what RaftNode.maybeSnapshot does
      await store.saveSnapshot({ meta: { index: to, term: 1, config }, data: new Uint8Array(10) }, false);
      await store.compact(to);
    }
    const size = fs.getFile('d/raft.log')?.length ?? 0;
    console.log(`record file after 500 entries, all covered by the snapshot: ${size} bytes`);
    // Every entry is covered by the snapshot at 500: only a hard state record (and a marker) remain.
    expect(size).toBeLessThan(1000);
    const reloaded = await new SimpleLogStore(fs, 'd').load();
    expect(reloaded.snapshot?.meta.index).toBe(500);
    expect(reloaded.entries).toEqual([]);
  });
});
