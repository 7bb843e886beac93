/**
 * Running a scenario over many seeds so that a failure names its seed and can be replayed
 * exactly by running that one seed again.
 */
import type { Seed } from './prng.js';

/** An error that carries the seed whose run failed (the original error is the `cause`). */
export class SeedFailure extends Error {
  /** The failing seed: rerun the scenario with it to replay the failure. */
  readonly seed: Seed;

  /** Wraps `cause`, naming `seed` in the message. */
  constructor(seed: Seed, cause: unknown) {
    const msg = cause instanceof Error ? cause.message : String(cause);
    super(`seed ${JSON.stringify(seed)} failed (replay with this seed): ${msg}`, { cause });
    this.name = 'SeedFailure';
    this.seed = seed;
  }
}

/** Which seeds to run: an explicit list or `count` consecutive integers from `from` (default 1). */
export type SeedSpec = readonly Seed[] | { from?: number; count: number };

/** The seeds a `SeedSpec` denotes. */
export function seedList(spec: SeedSpec): Seed[] {
  if (Array.isArray(spec)) return [...spec];
  const { from = 1, count } = spec as { from?: number; count: number };
  return Array.from({ length: count }, (_, i) => from + i);
}

/**
 * Runs `scenario` once per seed, in order, and stops at the first failure with a `SeedFailure`
 * that names the seed. Returns the seeds run.
 */
export async function forEachSeed(spec: SeedSpec, scenario: (seed: Seed) => unknown): Promise<Seed[]> {
  const seeds = seedList(spec);
  for (const seed of seeds) {
    try {
      await scenario(seed);
    } catch (e) {
      throw new SeedFailure(seed, e);
    }
  }
  return seeds;
}
