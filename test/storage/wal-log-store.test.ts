import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../generated/index.js';
import { createWalLogStore } from '../../runtime/storage/wal-log-store.js';
import { MemoryFileSystem } from './memory-fs.js';

const cmd = (index: number, term: number): LogEntry => ({
  index,
  term,
  entryType: 'command',
  command: new Uint8Array([index & 0xff]),
  timestamp: 0,
});

async function fresh(fs: MemoryFileSystem) {
  const store = createWalLogStore(fs, { segmentSize: 1 << 16, preallocate: 'sparse' });
  await store.load();
  return store;
}

describe('WalLogStore commit-only hard states (group commit)', () => {
  it('does not fdatasync a save that only moves the commit index; the next sync makes it durable', async () => {
    const fs = new MemoryFileSystem();
    const store = await fresh(fs);
    await store.save({ term: 1, votedFor: 'a', commit: 0 }, [cmd(1, 1), cmd(2, 1)]);
    const syncs = store.storage.wal.stats().syncs;
    await store.save({ term: 1, votedFor: 'a', commit: 2 }, []);
    expect(store.storage.wal.stats().syncs).toBe(syncs);
    // A crash now may lose the commit index (volatile state) but never the entries.
    fs.crash();
    const lost = await fresh(fs);
    expect(lost.recovered?.lastIndex).toBe(2);
    expect(lost.recovered?.hardState).toEqual({ term: 1, votedFor: 'a', commit: 0 });
    // Buffered again, then carried by the next save with entries.
    await lost.save({ term: 1, votedFor: 'a', commit: 2 }, []);
    await lost.save(undefined, [cmd(3, 1)]);
    fs.crash();
    const kept = await fresh(fs);
    expect(kept.recovered?.hardState).toEqual({ term: 1, votedFor: 'a', commit: 2 });
    expect(kept.recovered?.lastIndex).toBe(3);
  });

  it('still syncs a hard state whose term or vote changed before resolving', async () => {
    const fs = new MemoryFileSystem();
    const store = await fresh(fs);
    await store.save({ term: 1, votedFor: null, commit: 0 }, []);
    const syncs = store.storage.wal.stats().syncs;
    await store.save({ term: 2, votedFor: 'b', commit: 0 }, []);
    expect(store.storage.wal.stats().syncs).toBeGreaterThan(syncs);
    fs.crash();
    const again = await fresh(fs);
    expect(again.recovered?.hardState).toEqual({ term: 2, votedFor: 'b', commit: 0 });
  });
});
