/**
 * Helpers shared by the workloads: timing loops bounded by op count and wall time, and turning
 * latency samples into metrics.
 */
import { summarize } from '../stats.js';
import type { Metric, WorkloadResult } from './types.js';

/** A fixed 128-byte value (content is irrelevant to either target; size is what costs). */
export const VALUE_128: Uint8Array = new Uint8Array(128).map((_, i) => (i * 31 + 7) & 0xff);

/** p50, p99 and mean latency metrics from samples in ms. */
export function latencyMetrics(samples: readonly number[]): Metric[] {
  const s = summarize(samples);
  return [
    { name: 'p50', unit: 'ms', value: s.p50, better: 'lower' },
    { name: 'p99', unit: 'ms', value: s.p99, better: 'lower' },
    { name: 'mean', unit: 'ms', value: s.mean, better: 'lower' },
  ];
}

/**
 * Runs `op(i)` one at a time for i = 0..ops-1, stopping early once `maxMs` has elapsed, and
 * returns each operation's latency in ms.
 */
export async function sequential(
  ops: number,
  maxMs: number,
  op: (i: number) => Promise<void>,
  progress: (done: number, total: number) => void,
): Promise<{ samples: number[]; durationMs: number; truncated: boolean }> {
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < ops; i++) {
    if (performance.now() - start > maxMs) break;
    const t0 = performance.now();
    await op(i);
    samples.push(performance.now() - t0);
    progress(i + 1, ops);
  }
  return { samples, durationMs: performance.now() - start, truncated: samples.length < ops };
}

/** A latency workload result from `sequential`'s output. */
export function latencyResult(
  workload: string,
  target: string,
  run: { samples: number[]; durationMs: number; truncated: boolean },
): WorkloadResult {
  if (run.samples.length === 0) {
    return {
      workload,
      target,
      status: 'error',
      reason: 'no operation completed within the time bound',
      ops: 0,
      durationMs: run.durationMs,
      truncated: true,
      metrics: [],
    };
  }
  return {
    workload,
    target,
    status: 'ok',
    ops: run.samples.length,
    durationMs: run.durationMs,
    truncated: run.truncated,
    metrics: latencyMetrics(run.samples),
    latency: summarize(run.samples),
    samples: run.samples,
  };
}

/**
 * Runs `op(i, worker)` from `workers` concurrent loops that share one op counter, so at most
 * `workers` operations are in flight and `ops` run in total; loops stop taking new operations
 * once `maxMs` has elapsed. Returns each operation's latency in ms and the total wall time.
 * The first failing operation rejects the whole run (without waiting for operations in flight).
 */
export async function concurrent(
  workers: number,
  ops: number,
  maxMs: number,
  op: (i: number, worker: number) => Promise<void>,
  progress: (done: number, total: number) => void,
): Promise<{ samples: number[]; durationMs: number; truncated: boolean }> {
  const samples: number[] = [];
  let next = 0;
  let failed = false;
  const start = performance.now();
  const loop = async (worker: number) => {
    for (;;) {
      if (failed || next >= ops || performance.now() - start > maxMs) return;
      const i = next++;
      const t0 = performance.now();
      try {
        await op(i, worker);
      } catch (err) {
        failed = true; // the other loops stop taking operations; the first error is the outcome
        throw err;
      }
      samples.push(performance.now() - t0);
      progress(samples.length, ops);
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
  return { samples, durationMs: performance.now() - start, truncated: samples.length < ops };
}
