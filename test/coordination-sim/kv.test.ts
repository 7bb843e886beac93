import { describe, expect, it } from 'vitest';
import { runKv } from './harness.js';

const SEEDS = Number(process.env.COORD_SIM_SEEDS ?? 12);
const TIMEOUT = 60_000 + SEEDS * 3_000;

describe('KV in the simulator with faults', () => {
  it('KV histories (blind puts, linearizable reads) are linearizable per the checker', async () => {
    let ops = 0;
    let undecided = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await runKv(seed);
      if (r.linearizable === false) throw new Error(`seed ${seed}: KV history not linearizable\n${r.timeline}`);
      // 'unknown': the search budget ran out (many indeterminate puts on one key); never a pass by default.
      if (r.linearizable === 'unknown') undecided++;
      ops += r.operations;
    }
    expect(ops).toBeGreaterThan(SEEDS * 20);
    expect(undecided).toBeLessThanOrEqual(Math.floor(SEEDS / 10));
  }, TIMEOUT);

  it('reads served by any replica without ReadIndex are caught as non-linearizable on some seed', async () => {
    let caught = 0;
    for (let seed = 1; seed <= SEEDS && caught === 0; seed++) {
      if ((await runKv(seed, 3000, true)).linearizable === false) caught++;
    }
    expect(caught).toBeGreaterThan(0);
  }, TIMEOUT);
});
