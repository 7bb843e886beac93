import { it } from 'vitest';
import { checkScheduleSeeds } from './schedule-smoke.js';

// CI smoke, part 4 of 4.
it(
  'randomized schedules, seeds 751-1000: no violation, every request finishes',
  () => checkScheduleSeeds(751, 1000),
  600_000,
);
