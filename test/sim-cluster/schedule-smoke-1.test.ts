import { it } from 'vitest';
import { checkScheduleSeeds } from './schedule-smoke.js';

// CI smoke, part 1 of 4.
it(
  'randomized schedules, seeds 1-250: no violation, every request finishes',
  () => checkScheduleSeeds(1, 250),
  600_000,
);
