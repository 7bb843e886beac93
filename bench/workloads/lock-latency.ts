import { latencyResult, sequential } from './common.js';
import type { Workload, WorkloadBounds } from './types.js';

/**
 * Uncontended lock round trip: one client acquires then releases one lock, sequentially; each
 * sample is acquire + release. One unmeasured round first.
 */
export function lockLatency(bounds: WorkloadBounds = {}): Workload {
  const ops = bounds.ops ?? 300;
  const maxMs = bounds.maxMs ?? 30_000;
  return {
    id: 'lock-uncontended',
    title: 'lock acquire+release, uncontended',
    ops,
    maxMs,
    async run(target, ctx) {
      const name = `${ctx.runId}/lock-solo`;
      await (await target.lock(name)).release(); // unmeasured: opens the session (run-bench settles)
      const run = await sequential(
        ops,
        maxMs,
        async () => {
          const l = await target.lock(name);
          await l.release();
        },
        ctx.progress,
      );
      return latencyResult(this.id, target.name, run);
    },
  };
}
