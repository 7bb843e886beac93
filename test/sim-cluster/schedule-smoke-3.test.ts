import { it } from 'vitest';
import { checkScheduleSeeds } from './schedule-smoke.js';

// CI smoke, part 3 of 4.
it(
  'randomized schedules, seeds 501-750: no violation, every request finishes',
  () => checkScheduleSeeds(501, 750),
  600_000,
);
