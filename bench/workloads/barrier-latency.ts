import { latencyResult, sequential } from './common.js';
import type { Workload, WorkloadBounds } from './types.js';

/**
 * Barrier round latency: `participants` (default 8) callers arrive at a fresh barrier at the same
 * moment; a sample is the time until every one of them has been released. "n/a" when the target
 * has no barrier. One unmeasured round first.
 */
export function barrierLatency(bounds: WorkloadBounds & { participants?: number } = {}): Workload {
  const ops = bounds.ops ?? 50;
  const maxMs = bounds.maxMs ?? 30_000;
  const participants = bounds.participants ?? 8;
  return {
    id: 'barrier',
    title: `barrier release, ${participants} participants`,
    ops,
    maxMs,
    async run(target, ctx) {
      const barrier = target.barrier?.bind(target);
      if (barrier === undefined) {
        return {
          workload: this.id,
          target: target.name,
          status: 'n/a',
          reason: `${target.name} has no barrier`,
          ops: 0,
          durationMs: 0,
          truncated: false,
          metrics: [],
        };
      }
      // Unmeasured: one round opens the participants' sessions (run-bench settles between workloads).
      const prime = `${ctx.runId}/barrier-prime`;
      await Promise.all(Array.from({ length: participants }, () => barrier(prime, participants)));
      const run = await sequential(
        ops,
        maxMs,
        async (round) => {
          const name = `${ctx.runId}/barrier-${round}`;
          await Promise.all(Array.from({ length: participants }, () => barrier(name, participants)));
        },
        ctx.progress,
      );
      return latencyResult(this.id, target.name, run);
    },
  };
}
