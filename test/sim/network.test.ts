import { describe, expect, it } from 'vitest';
import { createWorld, type LinkConfig, type World } from '../../sim/index.js';

/** Two nodes, `a` sends `n` numbered frames to `b`; returns what b received (seq, time). */
async function blast(
  seed: number,
  cfg: Partial<LinkConfig>,
  n = 1000,
): Promise<{ w: World; got: number[][] }> {
  const w = createWorld({ seed, network: cfg });
  const a = w.createEnv('a');
  const b = w.createEnv('b');
  const got: number[][] = [];
  b.network.onReceive((_from, f) => got.push([(f[0] as number) | ((f[1] as number) << 8), w.now()]));
  for (let i = 0; i < n; i++) w.schedule(i, () => a.network.send('b', new Uint8Array([i & 0xff, i >> 8])));
  await w.run();
  return { w, got };
}

describe('SimNetwork: link behaviour', () => {
  it('drop rate: losses stay within 4 sigma of the configured rate over many seeds', async () => {
    const p = 0.2;
    const n = 1000;
    const sigma = Math.sqrt(n * p * (1 - p));
    for (let seed = 1; seed <= 20; seed++) {
      const { w, got } = await blast(seed, { dropRate: p });
      const lost = n - got.length;
      expect(Math.abs(lost - n * p)).toBeLessThan(4 * sigma);
      expect(w.network.totals()).toMatchObject({ sent: n, dropped: lost, delivered: got.length });
    }
  });

  it('duplication: extra copies within bounds, each counted; every frame arrives at least once', async () => {
    const p = 0.1;
    const n = 1000;
    for (let seed = 1; seed <= 10; seed++) {
      const { w, got } = await blast(seed, { duplicateRate: p });
      const dups = got.length - n;
      expect(Math.abs(dups - n * p)).toBeLessThan(4 * Math.sqrt(n * p * (1 - p)));
      expect(new Set(got.map((g) => g[0])).size).toBe(n);
      expect(w.network.totals().duplicated).toBe(dups);
    }
  });

  it('delays stay in [min, max] and produce reordering; a fixed delay keeps order', async () => {
    let reordered = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const { got } = await blast(seed, { minDelayMs: 5, maxDelayMs: 50 }, 300);
      for (const [i, t] of got) expect((t as number) - (i as number)).toBeGreaterThanOrEqual(5);
      for (const [i, t] of got) expect((t as number) - (i as number)).toBeLessThanOrEqual(50);
      for (let k = 1; k < got.length; k++)
        if ((got[k]?.[0] as number) < (got[k - 1]?.[0] as number)) reordered++;
    }
    expect(reordered).toBeGreaterThan(0);
    const { got } = await blast(1, { minDelayMs: 3, maxDelayMs: 3 }, 100);
    expect(got.map((g) => g[0])).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('a slow tail: about slowRate of frames take between maxDelayMs and slowMaxDelayMs', async () => {
    const { got } = await blast(2, { minDelayMs: 1, maxDelayMs: 5, slowRate: 0.1, slowMaxDelayMs: 500 });
    const delays = got.map(([i, t]) => (t as number) - (i as number));
    const slow = delays.filter((d) => d > 5).length;
    expect(Math.max(...delays)).toBeLessThanOrEqual(500);
    expect(Math.abs(slow - 100)).toBeLessThan(4 * Math.sqrt(1000 * 0.1 * 0.9));
    expect(() => createWorld({ seed: 1, network: { slowMaxDelayMs: 1, maxDelayMs: 5 } })).toThrow(RangeError);
  });

  it('per-link settings override the defaults for that direction only', async () => {
    const w = createWorld({ seed: 1 });
    const a = w.createEnv('a');
    const b = w.createEnv('b');
    let ab = 0;
    let ba = 0;
    b.network.onReceive(() => ab++);
    a.network.onReceive(() => ba++);
    w.network.setLink('a', 'b', { dropRate: 1 });
    for (let i = 0; i < 50; i++) {
      a.network.send('b', new Uint8Array([1]));
      b.network.send('a', new Uint8Array([1]));
    }
    await w.run();
    expect([ab, ba]).toEqual([0, 50]);
    expect(w.network.linkConfig('a', 'b').dropRate).toBe(1);
    expect(() => w.network.setLink('a', 'b', { dropRate: 2 })).toThrow(RangeError);
    expect(() => w.network.setDefaults({ minDelayMs: 5, maxDelayMs: 1 })).toThrow(RangeError);
  });

  it('frames are copied on send: mutating the buffer afterwards does not change delivery', async () => {
    const w = createWorld({ seed: 1, network: { duplicateRate: 1 } });
    const a = w.createEnv('a');
    const b = w.createEnv('b');
    const got: number[] = [];
    b.network.onReceive((_f, frame) => {
      got.push(frame[0] as number);
      frame[0] = 77; // the receiver mutating one copy must not affect the duplicate
    });
    const buf = new Uint8Array([5]);
    a.network.send('b', buf);
    buf[0] = 6;
    await w.run();
    expect(got).toEqual([5, 5]);
  });
});

describe('SimNetwork: partitions', () => {
  /** Every ordered pair sends one frame; returns the set of "from>to" that arrived. */
  async function reach(w: World, ids: string[]): Promise<Set<string>> {
    const got = new Set<string>();
    for (const id of ids) w.env(id).network.onReceive((from) => got.add(`${from}>${id}`));
    for (const x of ids) for (const y of ids) if (x !== y) w.env(x).network.send(y, new Uint8Array([0]));
    await w.run();
    return got;
  }
  const ids = ['a', 'b', 'c', 'd'];
  const mk = () => {
    const w = createWorld({ seed: 9 });
    for (const id of ids) w.createEnv(id);
    return w;
  };

  it('symmetric partition: only pairs inside a group talk; unnamed nodes form their own group', async () => {
    const w = mk();
    w.network.partition(['a', 'b'], ['c']);
    const got = await reach(w, ids);
    expect([...got].sort()).toEqual(['a>b', 'b>a']);
    w.network.heal();
    expect((await reach(w, ids)).size).toBe(12);
  });

  it('blockLink is asymmetric; isolate cuts both ways; rejoin and unblock undo them', async () => {
    const w = mk();
    w.network.blockLink('a', 'b');
    let got = await reach(w, ids);
    expect(got.has('a>b')).toBe(false);
    expect(got.has('b>a')).toBe(true);
    expect(got.size).toBe(11);
    w.network.unblockLink('a', 'b');
    w.network.isolate('c');
    got = await reach(w, ids);
    expect([...got].filter((p) => p.includes('c'))).toEqual([]);
    expect(got.size).toBe(6);
    w.network.rejoin('c');
    expect((await reach(w, ids)).size).toBe(12);
  });

  it('frames in flight across a link that gets cut are lost', async () => {
    const w = createWorld({ seed: 1, network: { minDelayMs: 10, maxDelayMs: 10 } });
    const a = w.createEnv('a');
    const b = w.createEnv('b');
    let got = 0;
    b.network.onReceive(() => got++);
    a.network.send('b', new Uint8Array([1]));
    w.schedule(5, () => w.network.isolate('b'));
    await w.run();
    expect(got).toBe(0);
    expect(w.network.totals()).toMatchObject({ sent: 1, dropped: 1 });
  });

  it('randomSplit makes two non-empty groups covering all nodes, varying with the seed', () => {
    const splits = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      const w = createWorld({ seed });
      for (const id of ids) w.createEnv(id);
      const [big, small] = w.network.randomSplit();
      expect(small.length).toBeGreaterThan(0);
      expect(big.length).toBeGreaterThanOrEqual(small.length);
      expect([...big, ...small].sort()).toEqual(ids);
      expect(w.network.isCut(big[0] as string, small[0] as string)).toBe(true);
      splits.add(JSON.stringify([big.sort(), small.sort()]));
    }
    expect(splits.size).toBeGreaterThan(4);
  });

  it('counts messages and bytes per pair; resetStats zeroes them', async () => {
    const w = mk();
    w.env('a').network.send('b', new Uint8Array(10));
    w.env('a').network.send('b', new Uint8Array(5));
    w.env('c').network.send('a', new Uint8Array(1));
    for (const id of ids) w.env(id).network.onReceive(() => {});
    await w.run();
    expect(w.network.stats()).toEqual([
      {
        from: 'a',
        to: 'b',
        sent: 2,
        bytesSent: 15,
        delivered: 2,
        bytesDelivered: 15,
        dropped: 0,
        duplicated: 0,
      },
      {
        from: 'c',
        to: 'a',
        sent: 1,
        bytesSent: 1,
        delivered: 1,
        bytesDelivered: 1,
        dropped: 0,
        duplicated: 0,
      },
    ]);
    w.network.resetStats();
    expect(w.network.totals().sent).toBe(0);
  });
});
