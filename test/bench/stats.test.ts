import { describe, expect, it } from 'vitest';
import { histogram, mean, percentile, percentileSorted, sortedCopy, summarize } from '../../bench/stats.js';

describe('percentiles', () => {
  it('interpolates between closest ranks (numpy linear)', () => {
    const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(s, 0)).toBe(1);
    expect(percentile(s, 100)).toBe(10);
    expect(percentile(s, 50)).toBeCloseTo(5.5, 12);
    expect(percentile(s, 90)).toBeCloseTo(9.1, 12);
    expect(percentile(s, 99)).toBeCloseTo(9.91, 12);
  });

  it('ignores input order and does not mutate the input', () => {
    const s = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    const copy = [...s];
    expect(percentile(s, 25)).toBeCloseTo(3.25, 12);
    expect(s).toEqual(copy);
  });

  it('sorts numerically, not as strings', () => {
    expect(sortedCopy([10, 9, 100, 1])).toEqual([1, 9, 10, 100]);
  });

  it('a single sample is every percentile', () => {
    for (const p of [0, 1, 50, 99, 100]) expect(percentileSorted([42], p)).toBe(42);
  });

  it('rejects empty samples and out-of-range p', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => mean([])).toThrow(RangeError);
  });

  it('summarize agrees with the individual functions on a skewed sample', () => {
    const s = Array.from({ length: 1000 }, (_, i) => (i < 990 ? 1 + i / 1000 : 50 + i));
    const sum = summarize(s);
    expect(sum.count).toBe(1000);
    expect(sum.min).toBe(1);
    expect(sum.max).toBe(50 + 999);
    expect(sum.mean).toBeCloseTo(mean(s), 12);
    expect(sum.p50).toBeCloseTo(percentile(s, 50), 12);
    expect(sum.p99).toBeCloseTo(percentile(s, 99), 12);
    expect(sum.p99).toBeGreaterThan(sum.p90);
    expect(sum.p90).toBeLessThan(2); // 99 % of the mass is below 2
  });
});

describe('histogram', () => {
  it('puts every sample in exactly one bucket, edges contiguous', () => {
    const s = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];
    for (const scale of ['log', 'linear'] as const) {
      const h = histogram(s, 7, scale);
      expect(h).toHaveLength(7);
      expect(h.reduce((a, b) => a + b.count, 0)).toBe(s.length);
      for (let i = 1; i < h.length; i++) expect(h[i]!.lo).toBe(h[i - 1]!.hi);
      expect(h[0]!.lo).toBe(0.1);
      expect(h[h.length - 1]!.hi).toBe(100);
    }
  });

  it('log buckets are geometric', () => {
    const h = histogram([1, 10, 100, 1000], 3, 'log');
    expect(h.map((b) => b.count)).toEqual([1, 1, 2]);
    expect(h[1]!.lo).toBeCloseTo(10, 9);
    expect(h[2]!.lo).toBeCloseTo(100, 9);
  });

  it('handles an empty sample and rejects bad bucket counts', () => {
    expect(histogram([], 5)).toEqual([]);
    expect(() => histogram([1], 0)).toThrow(RangeError);
  });
});
