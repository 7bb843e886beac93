import { describe, expect, it } from 'vitest';
import { runGossip } from './workload.js';

describe('determinism', () => {
  it('the same seed twice gives the same trace hash (with drops, dups, partitions, crashes, pauses, drift)', async () => {
    for (const seed of [1, 2, 'alpha']) {
      const w1 = await runGossip(seed);
      const w2 = await runGossip(seed);
      expect(w1.trace.count).toBeGreaterThan(500);
      expect(w2.trace.hash).toBe(w1.trace.hash);
      expect(w2.trace.count).toBe(w1.trace.count);
      expect(w2.network.stats()).toEqual(w1.network.stats());
    }
  });

  it('different seeds give different trace hashes', async () => {
    const hashes = new Set<string>();
    for (let seed = 10; seed < 20; seed++) hashes.add((await runGossip(seed, 500)).trace.hash);
    expect(hashes.size).toBe(10);
  });

  it('the workload actually exercises faults (so the hash covers them)', async () => {
    const w = await runGossip(3, 2_000, { trace: { keep: 100_000 } });
    const kinds = new Set(w.trace.lines().map((l) => l.split(' ')[1]));
    for (const k of ['deliver', 'drop', 'timer', 'crash', 'restart', 'pause', 'resume'])
      expect(kinds).toContain(k);
    const t = w.network.totals();
    expect(t.duplicated).toBeGreaterThan(0);
    expect(t.dropped).toBeGreaterThan(0);
  });
});
