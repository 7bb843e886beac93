import { describe, expect, it } from 'vitest';
import { checkKvSeeds, KV_SEEDS, runKv } from './harness.js';

// The seeds are split over two files so the two halves run in parallel (kv-2.test.ts).
const HALF = Math.ceil(KV_SEEDS / 2);

describe('KV in the simulator with faults', () => {
  it(
    `KV histories (blind puts, linearizable reads), seeds 1-${HALF}, are linearizable per the checker`,
    async () => {
      const { ops, undecided } = await checkKvSeeds(1, HALF);
      expect(ops).toBeGreaterThan(HALF * 20);
      expect(undecided).toBeLessThanOrEqual(Math.floor(HALF / 10));
    },
    60_000 + HALF * 3_000,
  );

  it('reads served by any replica without ReadIndex are caught as non-linearizable on some seed', async () => {
    let caught = 0;
    for (let seed = 1; seed <= KV_SEEDS && caught === 0; seed++) {
      if ((await runKv(seed, 3000, true)).linearizable === false) caught++;
    }
    expect(caught).toBeGreaterThan(0);
  }, 120_000);
});
