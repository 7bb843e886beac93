/**
 * Randomized crash testing (seeded, reproducible): pipelined saves with segment rollovers and
 * snapshots, power lost after a random number of fs calls with a random torn length; after
 * restart every acknowledged entry and hard state is present and the log is a valid prefix.
 */
import { describe, expect, it } from 'vitest';
import { openStorage } from '../../runtime/storage/index.js';
import { entry, show } from './helpers.js';
import { MemoryFileSystem } from './memory-fs.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function runSeed(seed: number): Promise<{ acked: number; recovered: number }> {
  const rnd = prng(seed);
  const fs = new MemoryFileSystem();
  const opts = { segmentSize: 4096 };
  const { storage } = await openStorage(fs, opts);
  fs.haltAfter(20 + Math.floor(rnd() * 400));
  let next = 1;
  let acked = 0;
  let ackedCommit = 0;
  let snapshotAcked = 0;
  const inflight: Promise<void>[] = [];
  for (let op = 0; op < 120; op++) {
    const n = 1 + Math.floor(rnd() * 6);
    const batch = Array.from({ length: n }, (_, k) => entry(next + k, 1));
    const last = next + n - 1;
    next += n;
    let p: Promise<void>;
    try {
      storage.wal.append(batch, { term: 1, votedFor: 'me', commit: last });
      p = storage.wal.sync().then(() => {
        acked = Math.max(acked, last);
        ackedCommit = Math.max(ackedCommit, last);
      });
    } catch {
      break; // failed: nothing more is accepted
    }
    inflight.push(p.catch(() => undefined));
    if (rnd() < 0.3) await Promise.all(inflight.splice(0));
    if (rnd() < 0.05 && acked > 10) {
      const at = acked - 5;
      await storage
        .installSnapshot({ index: at, term: 1, configuration: null, data: new Uint8Array([at % 256]) })
        .then(() => {
          snapshotAcked = Math.max(snapshotAcked, at);
        })
        .catch(() => undefined);
    }
  }
  await Promise.all(inflight);
  fs.crash({ tornBytes: Math.floor(rnd() * 200) });
  const { recovered } = await openStorage(fs, opts);
  const base = recovered.snapshot?.index ?? 0;
  expect(base, `seed ${seed}`).toBeGreaterThanOrEqual(snapshotAcked);
  expect(recovered.lastIndex, `seed ${seed}`).toBeGreaterThanOrEqual(acked);
  expect(recovered.hardState.commit, `seed ${seed}`).toBeGreaterThanOrEqual(ackedCommit);
  const want = Array.from({ length: recovered.lastIndex - base }, (_, k) => entry(base + 1 + k, 1));
  expect(show(recovered.entries), `seed ${seed}`).toEqual(show(want));
  return { acked, recovered: recovered.lastIndex };
}

describe('random crashes', () => {
  it('never lose an acknowledged entry (300 seeds)', async () => {
    let progressed = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = await runSeed(seed);
      if (r.acked > 0) progressed++;
    }
    // The workload got somewhere before most crashes (the test is not vacuous).
    expect(progressed).toBeGreaterThan(200);
  });
});
