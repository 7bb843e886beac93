import { describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.js';

describe('World: event queue and virtual time', () => {
  it('runs events by time, ties in scheduling order; run(until) stops and advances time', async () => {
    const w = createWorld({ seed: 1 });
    const order: string[] = [];
    w.schedule(5, () => order.push('5a'));
    w.schedule(1, () => order.push('1'));
    w.schedule(5, () => order.push('5b'));
    w.schedule(5, () => w.schedule(5, () => order.push('5c-nested')));
    w.schedule(9, () => order.push('9'));
    const r = await w.run({ until: 6 });
    expect(order).toEqual(['1', '5a', '5b', '5c-nested']);
    expect(r).toEqual({ reason: 'until', events: 5, now: 6 });
    const r2 = await w.run();
    expect(order.at(-1)).toBe('9');
    expect(r2.reason).toBe('idle');
    expect(w.now()).toBe(9);
  });

  it('stops on maxEvents and stopWhen; step runs exactly one event', async () => {
    const w = createWorld({ seed: 1 });
    let n = 0;
    for (let i = 1; i <= 10; i++) w.schedule(i, () => n++);
    expect((await w.run({ maxEvents: 3 })).reason).toBe('maxEvents');
    expect(n).toBe(3);
    expect((await w.run({ stopWhen: () => n >= 6 })).reason).toBe('stopped');
    expect(n).toBe(6);
    expect(await w.step()).toBe(true);
    expect(n).toBe(7);
    expect(w.now()).toBe(7);
  });

  it('promise continuations triggered by an event run before the next event (at its virtual time)', async () => {
    const w = createWorld({ seed: 1 });
    const env = w.createEnv('a');
    const seen: Array<[string, number]> = [];
    env.clock.setTimer(10, async () => {
      await env.fs.write('f', 0, new Uint8Array([1]));
      await env.fs.sync('f');
      await Promise.resolve();
      seen.push(['after-sync', env.clock.now()]);
    });
    env.clock.setTimer(11, () => seen.push(['timer-11', env.clock.now()]));
    await w.run();
    expect(seen).toEqual([
      ['after-sync', 10],
      ['timer-11', 11],
    ]);
  });
});

describe.each(['tick', 'immediate'] as const)('World: yieldMode %s', (yieldMode) => {
  it('a long promise chain started by one event completes before the next event, even at the same time', async () => {
    const w = createWorld({ seed: 1, yieldMode });
    const log: string[] = [];
    const chain = async (depth: number): Promise<void> => {
      if (depth > 0) {
        await Promise.resolve();
        await chain(depth - 1);
      }
    };
    w.schedule(1, () => {
      void chain(200).then(() => log.push('chain done'));
    });
    w.schedule(1, () => log.push('next event'));
    await w.run();
    expect(log).toEqual(['chain done', 'next event']);
  });
});

describe('World: nodes', () => {
  it('timers fire at their local deadline and clearTimer cancels them', async () => {
    const w = createWorld({ seed: 2 });
    const env = w.createEnv('a');
    const fired: number[] = [];
    env.clock.setTimer(30, () => fired.push(env.clock.now()));
    const h = env.clock.setTimer(20, () => fired.push(-1));
    env.clock.setTimer(10, () => env.clock.clearTimer(h));
    env.clock.clearTimer({}); // foreign handles are ignored
    await w.run();
    expect(fired).toEqual([30]);
  });

  it('clock drift: a fast clock fires its timers earlier in virtual time and reads ahead', async () => {
    const w = createWorld({ seed: 3 });
    const fast = w.createEnv('fast', { clock: { rate: 1.25, offsetMs: 1000 } });
    const slow = w.createEnv('slow', { clock: { rate: 0.8 } });
    const at: Record<string, [number, number]> = {};
    fast.clock.setTimer(100, () => (at.fast = [w.now(), fast.clock.now()]));
    slow.clock.setTimer(100, () => (at.slow = [w.now(), slow.clock.now()]));
    await w.run();
    expect(at.fast?.[0]).toBeCloseTo(80, 9);
    expect(at.fast?.[1]).toBeGreaterThanOrEqual(1100);
    expect(at.slow?.[0]).toBeCloseTo(125, 9);
    expect(at.slow?.[1]).toBeGreaterThanOrEqual(100);
    // Changing the rate keeps the local clock continuous.
    const before = w.localTime('fast');
    w.setClockRate('fast', 2);
    expect(w.localTime('fast')).toBe(before);
    await w.runFor(10);
    expect(w.localTime('fast')).toBeCloseTo(before + 20, 9);
  });

  it('clockDrift gives each node a rate within bounds, decided by the seed', () => {
    const rates = (seed: number) => {
      const w = createWorld({ seed, clockDrift: 0.01 });
      for (const id of ['a', 'b', 'c']) w.createEnv(id);
      return w.trace.hash; // the trace records each node's rate
    };
    const w = createWorld({ seed: 5, clockDrift: 0.01 });
    for (const id of ['a', 'b', 'c', 'd']) w.createEnv(id);
    w.schedule(1000, () => {});
    return w.run().then(() => {
      const ts = ['a', 'b', 'c', 'd'].map((id) => w.localTime(id));
      for (const t of ts) expect(Math.abs(t - 1000)).toBeLessThanOrEqual(10);
      expect(new Set(ts).size).toBe(4);
      expect(rates(5)).toBe(rates(5));
      expect(rates(5)).not.toBe(rates(6));
    });
  });

  it('pause holds timers and deliveries until resume, then runs them in order; the clock keeps running', async () => {
    const w = createWorld({ seed: 4, network: { minDelayMs: 1, maxDelayMs: 1 } });
    const a = w.createEnv('a');
    const b = w.createEnv('b');
    const log: string[] = [];
    b.network.onReceive((_from, f) => log.push(`msg ${f[0]} @${w.now()}`));
    b.clock.setTimer(5, () => log.push(`timer @${w.now()} local ${b.clock.now()}`));
    const cancelled = b.clock.setTimer(6, () => log.push('cancelled timer fired'));
    w.schedule(2, () => w.pause('b', 100));
    w.schedule(3, () => a.network.send('b', new Uint8Array([1])));
    w.schedule(4, () => a.network.send('b', new Uint8Array([2])));
    w.schedule(50, () => {
      expect(w.status('b')).toBe('paused');
      b.clock.clearTimer(cancelled);
    });
    await w.run();
    expect(log).toEqual(['msg 1 @102', 'timer @102 local 102', 'msg 2 @102']);
    expect(w.status('b')).toBe('up');
  });

  it('a longer pause extends, a shorter one does not shorten; resume() ends it early', async () => {
    const w = createWorld({ seed: 4 });
    const a = w.createEnv('a');
    const fired: number[] = [];
    a.clock.setTimer(1, () => fired.push(w.now()));
    w.pause('a', 50);
    w.schedule(10, () => w.pause('a', 5));
    await w.run();
    expect(fired).toEqual([50]);
    a.clock.setTimer(1, () => fired.push(w.now()));
    w.pause('a', 1000);
    w.schedule(w.now() + 20, () => w.resume('a'));
    await w.run();
    expect(fired).toEqual([50, 70]);
  });

  it('crash: timers, disk completions and in-flight deliveries of the old incarnation never run', async () => {
    const w = createWorld({ seed: 5, network: { minDelayMs: 10, maxDelayMs: 10 } });
    const a = w.createEnv('a');
    const b = w.createEnv('b');
    const log: string[] = [];
    b.network.onReceive((from) => log.push(`b got from ${from}`));
    b.clock.setTimer(20, () => log.push('old timer'));
    let settled = false;
    b.fs.write('x', 0, new Uint8Array([1])).finally(() => {
      settled = true;
    });
    a.network.send('b', new Uint8Array([1])); // in flight when b crashes
    w.crash('b');
    expect(w.incarnation('b')).toBe(1);
    // The old env is inert.
    b.clock.setTimer(1, () => log.push('timer via dead env'));
    b.network.send('a', new Uint8Array([9]));
    const b2 = w.restart('b');
    expect(b2.incarnation).toBe(1);
    expect(w.status('b')).toBe('up');
    b2.network.onReceive((from) => log.push(`b2 got from ${from}`));
    b2.clock.setTimer(30, () => log.push('new timer'));
    w.schedule(15, () => a.network.send('b', new Uint8Array([2])));
    a.network.onReceive(() => log.push('a got'));
    await w.run();
    expect(log).toEqual(['b2 got from a', 'new timer']);
    expect(settled).toBe(false);
    const ab = w.network.stats().find((s) => s.from === 'a' && s.to === 'b');
    expect(ab).toMatchObject({ sent: 2, delivered: 1, dropped: 1 });
  });

  it('restart of a running node crashes it first; sends to a crashed node are dropped', async () => {
    const w = createWorld({ seed: 6 });
    const a = w.createEnv('a');
    w.createEnv('b');
    w.crash('b');
    a.network.send('b', new Uint8Array([1]));
    a.network.send('nobody', new Uint8Array([1]));
    await w.run();
    expect(w.network.totals()).toMatchObject({ sent: 2, dropped: 2, delivered: 0 });
    w.restart('b');
    w.restart('b');
    expect(w.incarnation('b')).toBe(2);
    expect(() => w.createEnv('a')).toThrow(/exists/);
    expect(() => w.crash('zzz')).toThrow(/unknown/);
  });

  it('env.random is a per-node, per-incarnation stream decided by the seed', () => {
    const draws = (seed: number) => {
      const w = createWorld({ seed });
      const a = w.createEnv('a');
      const b = w.createEnv('b');
      const xs = [a.random(), a.random(), b.random()];
      const a2 = w.restart('a');
      xs.push(a2.random());
      return xs;
    };
    const x = draws(1);
    expect(draws(1)).toEqual(x);
    expect(draws(2)).not.toEqual(x);
    expect(new Set(x).size).toBe(4);
    for (const v of x) expect(v >= 0 && v < 1).toBe(true);
  });
});

describe('World: misuse', () => {
  it('refuses a second concurrent run', async () => {
    const w = createWorld({ seed: 1 });
    w.schedule(1, () => {});
    const first = w.run();
    await expect(w.run()).rejects.toThrow(/already in progress/);
    await first;
    await expect(w.run()).resolves.toMatchObject({ reason: 'idle' });
  });
});
