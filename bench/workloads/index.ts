/**
 * The benchmark workloads and the default suite (issues 5, 6 and 7).
 */
import { barrierLatency } from './barrier-latency.js';
import { failoverLatency } from './failover.js';
import { lockContention } from './lock-contention.js';
import { lockLatency } from './lock-latency.js';
import { putLatency } from './put-latency.js';
import { putThroughput } from './put-throughput.js';
import { readLatency } from './read-latency.js';
import type { Workload } from './types.js';

export type { Metric, Workload, WorkloadBounds, WorkloadContext, WorkloadResult } from './types.js';
export {
  barrierLatency,
  failoverLatency,
  lockContention,
  lockLatency,
  putLatency,
  putThroughput,
  readLatency,
};

/**
 * The default suite. `scale` multiplies every op count (at least 1 op each): 1 for real figures,
 * small values (0.01) for smoke tests. `maxMs` bounds each workload's wall time.
 */
export function defaultWorkloads(scale = 1, maxMs = 30_000): Workload[] {
  const n = (base: number) => Math.max(1, Math.round(base * scale));
  return [
    putLatency({ ops: n(1000), maxMs }),
    putThroughput({ ops: n(10_000), maxMs }),
    readLatency({ ops: n(1000), maxMs }),
    lockLatency({ ops: n(300), maxMs }),
    lockContention({ ops: n(500), maxMs }),
    barrierLatency({ ops: n(50), maxMs }),
  ];
}

/**
 * The spec's performance tests (`category: performance`, `measured_by: bench`) and the workload
 * that measures each: `election_latency` (time from leader loss to a new leader) is `failover`,
 * `commit_throughput` (64 in flight) is `put-throughput`, `lock_overhead` (uncontended round
 * trip) is `lock-uncontended`.
 */
export const SPEC_PERFORMANCE_WORKLOADS: Readonly<Record<string, string>> = Object.freeze({
  election_latency: 'failover',
  commit_throughput: 'put-throughput',
  lock_overhead: 'lock-uncontended',
});

/**
 * Every workload `--workloads` can name: the default suite plus the lease and stale read
 * variants (`read-latency-lease`, `read-latency-stale`) and `failover` (needs a target that can
 * kill its leader; `consensus bench` adds it to its default run), which are not run by default.
 */
export function allWorkloads(scale = 1, maxMs = 30_000): Workload[] {
  const n = (base: number) => Math.max(1, Math.round(base * scale));
  return [
    ...defaultWorkloads(scale, maxMs),
    readLatency({ ops: n(1000), maxMs, consistency: 'lease' }),
    readLatency({ ops: n(1000), maxMs, consistency: 'stale' }),
    failoverLatency({ ops: n(10), maxMs }),
  ];
}
