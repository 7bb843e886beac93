import { expect, it } from 'vitest';
import { runSchedule } from '../../sim/cluster/schedule.js';

// CI smoke, part 4 of 4: randomized fault schedules (safety phase, then liveness phase).
it('randomized schedules, seeds 751-1000: no violation, every request finishes', async () => {
  for (let seed = 751; seed <= 1000; seed++) {
    const config = seed % 4 === 1 ? { snapshotInterval: 20, snapshotChunkBytes: 128 } : undefined; // a quarter with frequent snapshots
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
}, 600_000);
