import { concurrent, latencyResult, VALUE_128 } from './common.js';
import type { Workload, WorkloadBounds } from './types.js';

/**
 * Put throughput with `inFlight` (default 64) requests outstanding from one client: ops/s over a
 * fixed op count (wall time from first send to last acknowledgement), plus per-put latency.
 */
export function putThroughput(bounds: WorkloadBounds & { inFlight?: number } = {}): Workload {
  const ops = bounds.ops ?? 10_000;
  const maxMs = bounds.maxMs ?? 30_000;
  const inFlight = bounds.inFlight ?? 64;
  return {
    id: 'put-throughput',
    title: `put, ${inFlight} in flight, 128 B`,
    ops,
    maxMs,
    async run(target, ctx) {
      const run = await concurrent(
        inFlight,
        ops,
        maxMs,
        (i) => target.put(`${ctx.runId}/put-tp/${i % 10_000}`, VALUE_128),
        ctx.progress,
      );
      const res = latencyResult(this.id, target.name, run);
      if (res.status === 'ok') {
        res.metrics = [
          {
            name: 'ops/s',
            unit: 'ops/s',
            value: (run.samples.length / run.durationMs) * 1000,
            better: 'higher',
          },
          ...res.metrics.filter((m) => m.name !== 'mean'),
        ];
      }
      return res;
    },
  };
}
