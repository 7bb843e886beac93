import { latencyResult, sequential } from './common.js';
import type { Workload, WorkloadBounds } from './types.js';

/**
 * Failover time (the spec's `election_latency`: time from leader loss to a new leader), over
 * repeated leader kills: each round calls `target.failover()`, which kills the current leader
 * (SIGKILL), measures the time until a write commits through the new leader, and brings the
 * killed member back before the next round. A sample is that kill-to-commit time as reported by
 * the target (so the restart is not counted). "n/a" when the target cannot kill its leader.
 */
export function failoverLatency(bounds: WorkloadBounds = {}): Workload {
  const ops = bounds.ops ?? 10;
  const maxMs = bounds.maxMs ?? 60_000;
  return {
    id: 'failover',
    title: 'leader kill -9 until a write commits',
    ops,
    maxMs,
    disruptive: true, // restarted members start cold: later rounds would measure their warm-up
    async run(target, ctx) {
      const failover = target.failover?.bind(target);
      if (failover === undefined) {
        return {
          workload: this.id,
          target: target.name,
          status: 'n/a',
          reason: `${target.name} cannot kill its leader from the bench`,
          ops: 0,
          durationMs: 0,
          truncated: false,
          metrics: [],
        };
      }
      const measured: number[] = [];
      const run = await sequential(
        ops,
        maxMs,
        async () => {
          measured.push(await failover());
        },
        ctx.progress,
      );
      // Report the target's kill-to-commit times, not the round times (which include the restart).
      return latencyResult(this.id, target.name, { ...run, samples: measured });
    },
  };
}
