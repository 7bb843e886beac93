import { expect, it } from 'vitest';
import { runSchedule } from '../../sim/cluster/schedule.js';

it('a seed replays exactly: same seed, same trace hash and outcome; another seed differs', async () => {
  for (const seed of [7, 8, 9]) {
    const a = await runSchedule({ seed, nodes: 3, safetyMs: 1000 });
    const b = await runSchedule({ seed, nodes: 3, safetyMs: 1000 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.log).toEqual(a.log);
    expect(b.proposals).toEqual(a.proposals);
    expect(b.virtualMs).toBe(a.virtualMs);
  }
  const x = await runSchedule({ seed: 10, nodes: 3, safetyMs: 1000 });
  const y = await runSchedule({ seed: 11, nodes: 3, safetyMs: 1000 });
  expect(x.traceHash).not.toBe(y.traceHash);
});
