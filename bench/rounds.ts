/**
 * Repeated, interleaved rounds (`--rounds K`). On a shared machine the disk's fdatasync latency
 * drifts by 2-3x within minutes, so one pass of "ours, then etcd" can hand either side the slow
 * minute. With K rounds the targets alternate their order (round 1 ours first, round 2 etcd
 * first, ...) and the table reports each figure as the median of its K per-round values; the
 * per-round ratios are printed under the table, so the spread is visible rather than hidden.
 */
import { summarize } from './stats.js';
import type { Metric, WorkloadResult } from './workloads/types.js';

/** Target order of round `round` (0-based): as given in even rounds, reversed in odd ones. */
export function roundOrder<T>(targets: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...targets] : [...targets].reverse();
}

/** Median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Folds the per-round results of one run into one result per (workload, target): every metric is
 * the median of its per-round values; ops and durations add up; the latency summary and the
 * samples (for the plot) pool all rounds. A pair that failed or was `n/a` in any round keeps the
 * first such result, so a failure is never averaged away.
 */
export function mergeRounds(rounds: readonly (readonly WorkloadResult[])[]): WorkloadResult[] {
  if (rounds.length <= 1) return [...(rounds[0] ?? [])];
  // Every (workload, target) pair in first-seen order; a disruptive workload runs in the last
  // round only, so a pair is merged over the rounds that ran it.
  const bases: WorkloadResult[] = [];
  for (const rs of rounds)
    for (const r of rs)
      if (!bases.some((b) => b.workload === r.workload && b.target === r.target)) bases.push(r);
  const merged: WorkloadResult[] = [];
  for (const base of bases) {
    const all = rounds.flatMap((rs) =>
      rs.filter((r) => r.workload === base.workload && r.target === base.target),
    );
    const bad = all.find((r) => r.status !== 'ok');
    if (bad !== undefined) {
      merged.push(bad);
      continue;
    }
    const ok = all;
    const metrics: Metric[] = base.metrics.map((m) => ({
      ...m,
      value: median(ok.map((r) => r.metrics.find((x) => x.name === m.name)?.value ?? Number.NaN)),
    }));
    const samples = ok.every((r) => r.samples !== undefined) ? ok.flatMap((r) => r.samples ?? []) : undefined;
    const result: WorkloadResult = {
      workload: base.workload,
      target: base.target,
      status: 'ok',
      ops: ok.reduce((n, r) => n + r.ops, 0),
      durationMs: ok.reduce((n, r) => n + r.durationMs, 0),
      truncated: ok.some((r) => r.truncated),
      metrics,
    };
    if (samples !== undefined && samples.length > 0) {
      result.samples = samples;
      result.latency = summarize(samples);
    }
    merged.push(result);
  }
  return merged;
}

/** One metric's `subject / baseline` ratio in each round (NaN where either side has no figure). */
export function perRoundRatios(
  rounds: readonly (readonly WorkloadResult[])[],
  workload: string,
  metric: string,
  subject: string,
  baseline: string,
): number[] {
  const value = (rs: readonly WorkloadResult[], target: string) => {
    const r = rs.find((x) => x.workload === workload && x.target === target);
    return r?.status === 'ok' ? r.metrics.find((m) => m.name === metric)?.value : undefined;
  };
  return rounds.map((rs) => {
    const a = value(rs, subject);
    const b = value(rs, baseline);
    return a === undefined || b === undefined || b === 0 ? Number.NaN : a / b;
  });
}
