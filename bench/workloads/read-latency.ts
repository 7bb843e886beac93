import type { Consistency } from '../targets/types.js';
import { latencyResult, sequential, VALUE_128 } from './common.js';
import type { Workload, WorkloadBounds } from './types.js';

/**
 * Sequential read latency at the given consistency (default linearizable): one client reads one
 * key written beforehand. Fails the run if the read does not return what was written.
 */
export function readLatency(bounds: WorkloadBounds & { consistency?: Consistency } = {}): Workload {
  const ops = bounds.ops ?? 1000;
  const maxMs = bounds.maxMs ?? 30_000;
  const consistency = bounds.consistency ?? 'linearizable';
  return {
    id: consistency === 'linearizable' ? 'read-latency' : `read-latency-${consistency}`,
    title: `sequential ${consistency} get, 1 client`,
    ops,
    maxMs,
    async run(target, ctx) {
      const key = `${ctx.runId}/read-lat`;
      await target.put(key, VALUE_128);
      const run = await sequential(
        ops,
        maxMs,
        async () => {
          const v = await target.get(key, { consistency });
          if (v === null || v.length !== VALUE_128.length)
            throw new Error(`read of ${key} returned ${v?.length ?? 'null'}`);
        },
        ctx.progress,
      );
      return latencyResult(this.id, target.name, run);
    },
  };
}
