import { latencyResult, sequential, VALUE_128 } from './common.js';
import type { Workload, WorkloadBounds } from './types.js';

/**
 * Sequential put latency: one client, one put in flight, 128-byte values over a key space of
 * 1000 keys; p50/p99/mean of the time until the put is acknowledged (committed).
 */
export function putLatency(bounds: WorkloadBounds = {}): Workload {
  const ops = bounds.ops ?? 1000;
  const maxMs = bounds.maxMs ?? 30_000;
  return {
    id: 'put-latency',
    title: 'sequential put, 1 client, 128 B',
    ops,
    maxMs,
    async run(target, ctx) {
      const run = await sequential(
        ops,
        maxMs,
        (i) => target.put(`${ctx.runId}/put-lat/${i % 1000}`, VALUE_128),
        ctx.progress,
      );
      return latencyResult(this.id, target.name, run);
    },
  };
}
