/**
 * Shared shapes of benchmark workloads. A workload runs a bounded number of operations (and stops
 * early at a time bound) against one `BenchTarget` and reports named metrics; the report puts the
 * same metric of two targets side by side.
 */
import type { LatencySummary } from '../stats.js';
import type { BenchTarget } from '../targets/types.js';

/** One figure of a workload result. */
export interface Metric {
  /** Short name, e.g. `p50`, `ops/s`. */
  name: string;
  unit: 'ms' | 'ops/s';
  value: number;
  /** Which direction is better (decides how the ratio reads). */
  better: 'lower' | 'higher';
}

/** The outcome of one workload on one target. */
export interface WorkloadResult {
  workload: string;
  target: string;
  /** `n/a`: the target lacks the operation; `error`: the run failed (see `reason`). */
  status: 'ok' | 'n/a' | 'error';
  reason?: string;
  /** Completed operations (or rounds) and the wall time they took. */
  ops: number;
  durationMs: number;
  /** True when the time bound stopped the run before its op count. */
  truncated: boolean;
  metrics: Metric[];
  /** Latency summary, when the workload measures per-operation latency. */
  latency?: LatencySummary;
  /** Raw latency samples in ms (kept for the plot; omitted from JSON unless asked). */
  samples?: number[];
}

/** What a workload gets besides the target. */
export interface WorkloadContext {
  /** Called as operations complete (for the progress bar); `total` is the op bound. */
  progress(done: number, total: number): void;
  /** Unique per run, so repeated runs on one cluster do not collide on keys or lock names. */
  runId: string;
}

/** A benchmark workload. */
export interface Workload {
  /** Stable id, used as the row key and in JSON (`put-latency`, ...). */
  id: string;
  /** One-line description printed in the table. */
  title: string;
  /** Op (or round) bound. */
  ops: number;
  /** Time bound in ms. */
  maxMs: number;
  /**
   * Leaves the target changed for what follows (restarted members whose code is not warmed up
   * again): with `--rounds`, it runs in the last round only.
   */
  disruptive?: boolean;
  run(target: BenchTarget, ctx: WorkloadContext): Promise<WorkloadResult>;
}

/** Op and time bounds of a workload factory. */
export interface WorkloadBounds {
  ops?: number;
  maxMs?: number;
}
