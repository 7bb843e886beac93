import { describe, expect, it } from 'vitest';
import { createDeadlineSet, MAX_TIMER_DELAY_MS } from '../../runtime/env/deadline-set.js';
import type { Clock } from '../../runtime/env/types.js';
import { createWorld } from '../../sim/world.js';

/** A deadline set on a simulated node's clock, and a way to move virtual time. */
function setup() {
  const world = createWorld({ seed: 1 });
  const env = world.createEnv('n1');
  const set = createDeadlineSet(env.clock);
  const fired: string[] = [];
  const advance = (ms: number) => world.run({ until: world.now() + ms });
  return { set, fired, advance, now: () => env.clock.now() };
}

describe('deadline set (one timer for many request deadlines)', () => {
  it('expires each deadline when its time comes, in any order of adding', async () => {
    const { set, fired, advance, now } = setup();
    const t0 = now();
    set.add(t0 + 300, () => fired.push('c'));
    set.add(t0 + 100, () => fired.push('a'));
    set.add(t0 + 200, () => fired.push('b'));
    await advance(99);
    expect(fired).toEqual([]);
    await advance(2);
    expect(fired).toEqual(['a']);
    await advance(100);
    expect(fired).toEqual(['a', 'b']);
    await advance(100);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(set.size).toBe(0);
  });

  it('a removed deadline never fires; the timer armed for it re-arms for the rest', async () => {
    const { set, fired, advance, now } = setup();
    const t0 = now();
    const first = set.add(t0 + 50, () => fired.push('removed'));
    set.add(t0 + 500, () => fired.push('kept'));
    set.remove(first);
    await advance(400);
    expect(fired).toEqual([]);
    expect(set.size).toBe(1);
    await advance(200);
    expect(fired).toEqual(['kept']);
  });

  it('expireAll ends every pending deadline at once, also those without a time', async () => {
    const { set, fired, advance, now } = setup();
    set.add(Number.POSITIVE_INFINITY, () => fired.push('open-ended'));
    set.add(now() + 1000, () => fired.push('timed'));
    set.expireAll();
    expect(fired.sort()).toEqual(['open-ended', 'timed']);
    await advance(2000);
    expect(fired).toHaveLength(2);
  });

  it('reaches a deadline beyond the longest timer Node arms (2^31-1 ms) in steps, never arming more', () => {
    let now = 0;
    const armed: { ms: number; fn: () => void }[] = [];
    const clock: Clock = {
      now: () => now,
      setTimer: (ms, fn) => {
        armed.push({ ms, fn });
        return armed.length;
      },
      clearTimer: () => {},
    };
    const set = createDeadlineSet(clock);
    const fired: number[] = [];
    const thirtyDays = 30 * 86_400_000;
    set.add(thirtyDays, () => fired.push(now));
    expect(armed.map((a) => a.ms)).toEqual([MAX_TIMER_DELAY_MS]);
    now = MAX_TIMER_DELAY_MS;
    armed[0]?.fn();
    expect(fired).toEqual([]);
    expect(armed.map((a) => a.ms)).toEqual([MAX_TIMER_DELAY_MS, thirtyDays - MAX_TIMER_DELAY_MS]);
    now = thirtyDays;
    armed[1]?.fn();
    expect(fired).toEqual([thirtyDays]);
  });
});
