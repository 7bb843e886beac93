/** Figures measured on simulated clusters: election time after a leader crash, idle message rate. */
import { SimCluster } from './cluster.js';

/** Percentile (nearest rank) of a sorted array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Time (simulated ms) from crashing a healthy leader to a new leader. */
export async function measureElection(seed: number, nodes: number): Promise<number | null> {
  const c = await SimCluster.start({ seed, nodes, logCheckEveryMs: 0 });
  const l = await c.waitForLeader(3000);
  if (!l) return null;
  await c.run(200 + c.world.rng.fork('offset').int(0, 100));
  c.crash(l);
  const t0 = c.world.now();
  await c.world.runFor(5000, { stopWhen: () => c.leader() !== null });
  const ok = c.leader() !== null;
  const dt = c.world.now() - t0;
  c.stop();
  return ok ? dt : null;
}

/** Messages per second sent by an idle healthy cluster. */
export async function idleMessageRate(seed: number, nodes: number, seconds = 10): Promise<number> {
  const c = await SimCluster.start({ seed, nodes, logCheckEveryMs: 0 });
  await c.waitForLeader(3000);
  await c.run(500);
  const before = c.world.network.totals().sent;
  await c.run(seconds * 1000);
  const rate = (c.world.network.totals().sent - before) / seconds;
  c.stop();
  return rate;
}
