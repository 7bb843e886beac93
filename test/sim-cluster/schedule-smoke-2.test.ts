import { it } from 'vitest';
import { checkScheduleSeeds } from './schedule-smoke.js';

// CI smoke, part 2 of 4.
it(
  'randomized schedules, seeds 251-500: no violation, every request finishes',
  () => checkScheduleSeeds(251, 500),
  600_000,
);
