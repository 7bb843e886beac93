import { expect, it } from 'vitest';
import { HEARTBEAT_INTERVAL_MS } from '../../generated/index.js';
import { idleMessageRate, measureElection, percentile } from '../../sim/cluster/metrics.js';

it('election time after a leader crash: p99 under 600 ms of simulated time (3 and 5 members, 100 seeds each)', async () => {
  for (const n of [3, 5]) {
    const times: number[] = [];
    for (let seed = 1; seed <= 100; seed++) {
      const t = await measureElection(seed, n);
      expect(t, `seed ${seed}`).not.toBeNull();
      times.push(t as number);
    }
    times.sort((a, b) => a - b);
    expect(percentile(times, 99)).toBeLessThan(600);
    expect(percentile(times, 50)).toBeGreaterThan(0);
  }
});

it('idle message rate is one heartbeat round trip per follower per heartbeat interval', async () => {
  for (const n of [3, 5]) {
    const rate = await idleMessageRate(1, n);
    expect(rate).toBeLessThanOrEqual(((n - 1) * 2 * 1000) / HEARTBEAT_INTERVAL_MS + 1);
  }
});
