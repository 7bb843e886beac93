/**
 * Sample statistics for the benchmark: percentiles from a sorted copy of the samples (no
 * approximation; bench runs are bounded so the arrays stay small) and fixed-bucket histograms.
 */

/** Summary of a set of latency samples, all in milliseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

/** Returns a sorted (ascending) copy; the input is left untouched. */
export function sortedCopy(samples: readonly number[]): number[] {
  // Float64Array sorts numerically (Array#sort would compare strings).
  return Array.from(Float64Array.from(samples).sort());
}

/**
 * Percentile `p` (0..100) of an ascending array, by linear interpolation between closest ranks
 * (the same definition as numpy's default). Throws on an empty array or `p` outside 0..100.
 */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty sample');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile out of range: ${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

/** Percentile `p` (0..100) of unsorted samples; see `percentileSorted`. */
export function percentile(samples: readonly number[], p: number): number {
  return percentileSorted(sortedCopy(samples), p);
}

/** Arithmetic mean; throws on an empty array. */
export function mean(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('mean of an empty sample');
  let sum = 0;
  for (const v of samples) sum += v;
  return sum / samples.length;
}

/** Count, min, max, mean and p50/p90/p99 of `samples`; throws on an empty array. */
export function summarize(samples: readonly number[]): LatencySummary {
  const s = sortedCopy(samples);
  if (s.length === 0) throw new RangeError('summary of an empty sample');
  return {
    count: s.length,
    min: s[0]!,
    max: s[s.length - 1]!,
    mean: mean(s),
    p50: percentileSorted(s, 50),
    p90: percentileSorted(s, 90),
    p99: percentileSorted(s, 99),
  };
}

/** One histogram bucket: samples `v` with `lo <= v < hi` (the last bucket also holds `v === hi`). */
export interface HistogramBucket {
  lo: number;
  hi: number;
  count: number;
}

/**
 * Histogram with `buckets` buckets. `scale: 'log'` spaces bucket edges geometrically between the
 * smallest positive sample and the largest (latency distributions are long-tailed); `'linear'`
 * spaces them evenly between min and max. Every sample lands in exactly one bucket, so the counts
 * sum to `samples.length`.
 */
export function histogram(
  samples: readonly number[],
  buckets = 20,
  scale: 'linear' | 'log' = 'log',
): HistogramBucket[] {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`bad bucket count: ${buckets}`);
  if (samples.length === 0) return [];
  const s = sortedCopy(samples);
  const max = s[s.length - 1]!;
  let min = s[0]!;
  const useLog = scale === 'log' && max > 0;
  if (useLog) min = s.find((v) => v > 0) ?? max;
  const edges: number[] = [];
  for (let i = 0; i <= buckets; i++) {
    const f = i / buckets;
    edges.push(useLog ? min * (max / min) ** f : min + (max - min) * f);
  }
  edges[buckets] = max;
  const out: HistogramBucket[] = [];
  for (let i = 0; i < buckets; i++) out.push({ lo: edges[i]!, hi: edges[i + 1]!, count: 0 });
  for (const v of s) {
    let i = out.findIndex((b) => v < b.hi);
    if (i < 0) i = buckets - 1; // v === max
    out[i]!.count++;
  }
  return out;
}
