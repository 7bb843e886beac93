import { expect, it } from 'vitest';
import { checkKvSeeds, KV_SEEDS } from './harness.js';

const HALF = Math.ceil(KV_SEEDS / 2);

it(
  `KV histories (blind puts, linearizable reads), seeds ${HALF + 1}-${KV_SEEDS}, are linearizable per the checker`,
  async () => {
    const { ops, undecided } = await checkKvSeeds(HALF + 1, KV_SEEDS);
    expect(ops).toBeGreaterThan((KV_SEEDS - HALF) * 20);
    expect(undecided).toBeLessThanOrEqual(Math.floor((KV_SEEDS - HALF) / 10));
  },
  60_000 + HALF * 3_000,
);
