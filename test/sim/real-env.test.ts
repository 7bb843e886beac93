import { describe, expect, it } from 'vitest';
import { createRealClock } from '../../runtime/env/real-clock.js';
import { createRealRandom, realRandom } from '../../runtime/env/real-random.js';

describe('real clock', () => {
  it('is monotonic and fires timers no earlier than asked; clearTimer cancels', async () => {
    const clock = createRealClock({ unref: true });
    const t0 = clock.now();
    let cancelledFired = false;
    const h = clock.setTimer(5, () => {
      cancelledFired = true;
    });
    clock.clearTimer(h);
    clock.clearTimer(undefined); // foreign handles are ignored
    const firedAt = await new Promise<number>((resolve) => clock.setTimer(20, () => resolve(clock.now())));
    expect(firedAt - t0).toBeGreaterThanOrEqual(19); // timers may round by up to 1 ms
    expect(cancelledFired).toBe(false);
    let prev = clock.now();
    for (let i = 0; i < 1000; i++) {
      const t = clock.now();
      expect(t).toBeGreaterThanOrEqual(prev);
      prev = t;
    }
  });
});

describe('real random', () => {
  it('draws floats in [0, 1), roughly uniform, not repeating', () => {
    const r = createRealRandom();
    const n = 20_000;
    const buckets = new Array(4).fill(0);
    const seen = new Set<number>();
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const x = i % 2 ? r() : realRandom();
      if (!(x >= 0 && x < 1)) outside++;
      else buckets[Math.floor(x * 4)]++;
      seen.add(x);
    }
    expect(outside).toBe(0);
    expect(seen.size).toBe(n);
    for (const b of buckets) expect(Math.abs(b - n / 4)).toBeLessThan(n / 20);
  });
});
