import { expect } from 'vitest';
import { runSchedule } from '../../sim/cluster/schedule.js';

/**
 * The CI smoke of randomized fault schedules (a safety phase with faults, then a liveness phase
 * with a healthy majority) on seeds first..last: no invariant violation, every request finishes.
 * Split over four files so the parts run in parallel.
 */
export async function checkScheduleSeeds(first: number, last: number): Promise<void> {
  for (let seed = first; seed <= last; seed++) {
    // A quarter of the seeds snapshot every 20 entries in small chunks; a third run 5 members.
    const config = seed % 4 === 1 ? { snapshotInterval: 20, snapshotChunkBytes: 128 } : undefined;
    const r = await runSchedule({
      seed,
      nodes: seed % 3 === 0 ? 5 : 3,
      safetyMs: 1500,
      livenessMs: 4000,
      config,
    });
    expect(r.violations, `seed ${seed} (replay: npm run sim -- --start ${seed} --seeds 1)`).toEqual([]);
    expect(r.liveness, `seed ${seed}`).toEqual([]);
  }
}
