import { concurrent, latencyResult } from './common.js';
import type { Workload, WorkloadBounds } from './types.js';

/**
 * Contended lock: `workers` (default 8) loops acquire and release one lock; reports acquisitions
 * per second over the run. Also checks mutual exclusion as seen by the clients: a holder stays in
 * its critical section for one event-loop turn and leaves it before it sends its release, so an
 * acquire resolving while another holder is still inside is a real violation, and the run fails.
 * One unmeasured round first.
 */
export function lockContention(bounds: WorkloadBounds & { workers?: number } = {}): Workload {
  const ops = bounds.ops ?? 500;
  const maxMs = bounds.maxMs ?? 30_000;
  const workers = bounds.workers ?? 8;
  return {
    id: 'lock-contended',
    title: `lock, ${workers} workers on one lock`,
    ops,
    maxMs,
    async run(target, ctx) {
      const name = `${ctx.runId}/lock-hot`;
      let inside = 0;
      let violations = 0;
      // Unmeasured: every worker takes the lock once, which opens the sessions (run-bench settles).
      await Promise.all(
        Array.from({ length: workers }, async () => {
          await (await target.lock(name)).release();
        }),
      );
      const run = await concurrent(
        workers,
        ops,
        maxMs,
        async () => {
          const l = await target.lock(name);
          if (++inside > 1) violations++;
          // Stay inside for one event-loop turn so other acquires whose answers are already here
          // resolve now and, if the lock did not exclude them, are seen overlapping.
          await new Promise<void>((r) => setImmediate(r));
          if (inside > 1) violations++;
          inside--;
          await l.release();
        },
        ctx.progress,
      );
      const res = latencyResult(this.id, target.name, run);
      if (violations > 0) {
        return {
          ...res,
          status: 'error',
          reason: `mutual exclusion violated ${violations} times`,
          metrics: [],
        };
      }
      if (res.status === 'ok') {
        res.metrics = [
          {
            name: 'acq/s',
            unit: 'ops/s',
            value: (run.samples.length / run.durationMs) * 1000,
            better: 'higher',
          },
          ...res.metrics.filter((m) => m.name === 'p99'),
        ];
      }
      return res;
    },
  };
}
