import { expect, it } from 'vitest';
import { checkFencedLockSetSeeds, LOCK_SET_SEEDS } from './harness.js';

const HALF = Math.ceil(LOCK_SET_SEEDS / 2);

it(
  `lock-set with fencing, seeds ${HALF + 1}-${LOCK_SET_SEEDS}: no acknowledged element lost, lock histories linearizable`,
  async () => {
    const { acquisitions, rejected } = await checkFencedLockSetSeeds(HALF + 1, LOCK_SET_SEEDS);
    expect(acquisitions).toBeGreaterThan((LOCK_SET_SEEDS - HALF) * 5);
    expect(rejected).toBeGreaterThan(0);
  },
  60_000 + HALF * 3_000,
);
