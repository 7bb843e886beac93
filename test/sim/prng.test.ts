import { describe, expect, it } from 'vitest';
import { createPrng, Prng } from '../../sim/index.js';

const draw = (p: Prng, n: number) => Array.from({ length: n }, () => p.uint32());

describe('Prng', () => {
  it('is reproducible from number and string seeds, and seeds differ', () => {
    expect(draw(new Prng(7), 20)).toEqual(draw(new Prng(7), 20));
    expect(draw(new Prng('x'), 20)).toEqual(draw(createPrng('x'), 20));
    expect(draw(new Prng(7), 20)).not.toEqual(draw(new Prng(8), 20));
    expect(draw(new Prng(0), 20)).not.toEqual(draw(new Prng('0 '), 20));
  });

  it('fork depends on the key only, not on how much the parent has drawn', () => {
    const a = new Prng(1);
    const b = new Prng(1);
    draw(b, 1000);
    expect(draw(a.fork('net'), 10)).toEqual(draw(b.fork('net'), 10));
    expect(draw(a.fork('net'), 10)).not.toEqual(draw(a.fork('disk'), 10));
    expect(draw(a.fork('x'), 10)).not.toEqual(draw(a, 10));
    expect(a.fork('x').fork('y').key).toBe('1/x/y');
  });

  it('float is in [0,1) and roughly uniform (10 buckets within 10% of expectation)', () => {
    const p = new Prng('uniform');
    const buckets = new Array(10).fill(0);
    const n = 100_000;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const f = p.float();
      if (!(f >= 0 && f < 1)) outside++;
      else buckets[Math.floor(f * 10)]++;
    }
    expect(outside).toBe(0);
    for (const b of buckets) expect(Math.abs(b - n / 10)).toBeLessThan(n / 100);
  });

  it('int stays within inclusive bounds and reaches both ends', () => {
    const p = new Prng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = p.int(-2, 3);
      expect(Number.isInteger(v) && v >= -2 && v <= 3).toBe(true);
      seen.add(v);
    }
    expect([...seen].sort((x, y) => x - y)).toEqual([-2, -1, 0, 1, 2, 3]);
    expect(() => p.int(2, 1)).toThrow(RangeError);
  });

  it('chance matches its probability; 0 and 1 are exact', () => {
    const p = new Prng(4);
    let hits = 0;
    for (let i = 0; i < 20_000; i++) if (p.chance(0.3)) hits++;
    expect(hits / 20_000).toBeGreaterThan(0.28);
    expect(hits / 20_000).toBeLessThan(0.32);
    for (let i = 0; i < 100; i++) {
      expect(p.chance(0)).toBe(false);
      expect(p.chance(1)).toBe(true);
    }
  });

  it('shuffle returns a permutation without touching the input; pick picks members', () => {
    const p = new Prng(5);
    const xs = [1, 2, 3, 4, 5, 6, 7, 8];
    const s = p.shuffle(xs);
    expect(xs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...s].sort()).toEqual(xs);
    const firsts = new Set<number>();
    for (let i = 0; i < 200; i++) firsts.add(p.shuffle(xs)[0] as number);
    expect(firsts.size).toBe(8);
    for (let i = 0; i < 50; i++) expect(xs).toContain(p.pick(xs));
    expect(() => p.pick([])).toThrow(RangeError);
  });
});
