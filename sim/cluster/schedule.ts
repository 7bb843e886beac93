import type { NodeConfig } from '../../runtime/node/node.js';
import type { Seed } from '../prng.js';
import type { Violation } from './checker.js';
import { SimCluster } from './cluster.js';

/** Options of a randomized fault schedule. */
export interface ScheduleOptions {
  seed: Seed;
  nodes?: number;
  /** Virtual ms of the safety phase (faults). Default 3000. */
  safetyMs?: number;
  /** Virtual ms the liveness phase may take at most. Default 5000. */
  livenessMs?: number;
  config?: NodeConfig;
  nodeConfig?: (id: string) => NodeConfig | undefined;
  /** Fault mix; every weight defaults to 1 (0 disables a fault). */
  faults?: Partial<Record<FaultKind, number>>;
  /** Mean virtual ms between two schedule steps. Default 60. */
  stepMs?: number;
  clockDrift?: number;
  /** Disk sync latency range in ms (default 0.2 to 3), so crashes can land between write and sync. */
  syncLatencyMs?: [number, number];
}

/** The faults a schedule injects. */
export type FaultKind =
  | 'bounce'
  | 'crash'
  | 'restart'
  | 'partition'
  | 'isolateLeader'
  | 'heal'
  | 'lossy'
  | 'pause'
  | 'asymmetric'
  | 'crashLeader';

/** Outcome of one schedule. */
export interface ScheduleResult {
  seed: Seed;
  violations: Violation[];
  /** Liveness failures (a healthy majority that did not finish its work). */
  liveness: string[];
  proposals: { committed: number; rejected: number; dropped: number; lost: number; pending: number };
  elections: number;
  virtualMs: number;
  /** Fingerprint of everything that happened (same seed, same code: same hash). */
  traceHash: string;
  /** A short fault log for replay diagnostics. */
  log: string[];
}

const KINDS: FaultKind[] = [
  'bounce',
  'crash',
  'restart',
  'partition',
  'isolateLeader',
  'heal',
  'lossy',
  'pause',
  'asymmetric',
  'crashLeader',
];

/**
 * Runs one randomized schedule: a safety phase in which faults of every kind (crashes and restarts,
 * partitions, an isolated leader, lossy/duplicating/reordering links, pauses, asymmetric links) hit
 * the cluster while a client keeps proposing; then a liveness phase with everything healed, in which
 * a leader must emerge, every pending proposal must finish, fresh proposals must commit and every
 * member must apply up to the same index. Same seed, same run.
 */
export async function runSchedule(opts: ScheduleOptions): Promise<ScheduleResult> {
  const n = opts.nodes ?? 3;
  const cluster = await SimCluster.start({
    seed: opts.seed,
    nodes: n,
    config: opts.config,
    nodeConfig: opts.nodeConfig,
    clockDrift: opts.clockDrift ?? 0.001,
    disk: { syncLatency: { minMs: opts.syncLatencyMs?.[0] ?? 0.2, maxMs: opts.syncLatencyMs?.[1] ?? 3 } },
  });
  const world = cluster.world;
  const rng = world.rng.fork('schedule');
  const log: string[] = [];
  const weights = KINDS.map((k) => opts.faults?.[k] ?? 1);
  const total = weights.reduce((a, b) => a + b, 0);
  const pickFault = (): FaultKind => {
    let x = rng.float() * total;
    for (let i = 0; i < KINDS.length; i++) {
      x -= weights[i] as number;
      if (x < 0) return KINDS[i] as FaultKind;
    }
    return KINDS[KINDS.length - 1] as FaultKind;
  };
  const safetyEnd = world.now() + (opts.safetyMs ?? 3000);
  const stepMs = opts.stepMs ?? 60;
  while (world.now() < safetyEnd && cluster.checker.violations.length === 0) {
    const proposals = rng.int(0, 3);
    for (let i = 0; i < proposals; i++) cluster.propose();
    if (rng.chance(0.5) && total > 0) {
      const f = pickFault();
      const up = cluster.ids.filter((id) => world.status(id) === 'up');
      const down = cluster.ids.filter((id) => world.status(id) === 'crashed');
      switch (f) {
        case 'bounce':
          if (up.length > 0) {
            const id = rng.pick(up);
            const ms = rng.int(0, 60);
            cluster.crash(id);
            world.after(ms, () => {
              if (world.status(id) === 'crashed') cluster.restart(id);
            });
            log.push(`${world.now()} bounce ${id} ${ms}`);
          }
          break;
        case 'crash':
          if (up.length > 0) {
            const id = rng.pick(up);
            cluster.crash(id);
            log.push(`${world.now()} crash ${id}`);
          }
          break;
        case 'crashLeader': {
          const l = cluster.leader();
          if (l) {
            cluster.crash(l);
            log.push(`${world.now()} crash leader ${l}`);
          }
          break;
        }
        case 'restart':
          if (down.length > 0) {
            const id = rng.pick(down);
            cluster.restart(id);
            log.push(`${world.now()} restart ${id}`);
          }
          break;
        case 'partition': {
          const [a, b] = world.network.randomSplit(cluster.ids);
          log.push(`${world.now()} partition ${a.join(',')} | ${b.join(',')}`);
          break;
        }
        case 'isolateLeader': {
          const l = cluster.leader();
          if (l) {
            world.network.isolate(l);
            log.push(`${world.now()} isolate ${l}`);
          }
          break;
        }
        case 'heal':
          world.network.heal();
          log.push(`${world.now()} heal`);
          break;
        case 'lossy': {
          const cfg = {
            dropRate: rng.chance(0.5) ? rng.range(0, 0.3) : 0,
            duplicateRate: rng.chance(0.5) ? rng.range(0, 0.2) : 0,
            minDelayMs: 1,
            maxDelayMs: rng.int(2, 40),
          };
          world.network.setDefaults(cfg);
          log.push(`${world.now()} links ${JSON.stringify(cfg)}`);
          break;
        }
        case 'pause':
          if (up.length > 0) {
            const id = rng.pick(up);
            const ms = rng.int(10, 400);
            world.pause(id, ms);
            log.push(`${world.now()} pause ${id} ${ms}`);
          }
          break;
        case 'asymmetric': {
          const a = rng.pick(cluster.ids);
          const b = rng.pick(cluster.ids.filter((x) => x !== a));
          world.network.blockLink(a, b);
          log.push(`${world.now()} block ${a}->${b}`);
          break;
        }
      }
    }
    await cluster.run(rng.int(1, 2 * stepMs));
  }

  // Liveness phase: everything healthy; the cluster must finish its work.
  const liveness: string[] = [];
  if (cluster.checker.violations.length === 0) {
    cluster.healAll();
    log.push(`${world.now()} heal all`);
    const deadline = world.now() + (opts.livenessMs ?? 5000);
    const leader = await cluster.waitForLeader(deadline - world.now());
    if (!leader) liveness.push('no leader after healing');
    else {
      const finals: ReturnType<SimCluster['propose']>[] = [];
      while (world.now() < deadline && cluster.checker.violations.length === 0) {
        if (finals.filter((p) => p.status === 'committed').length < 3) {
          const l = cluster.leader();
          if (l && finals.filter((p) => p.status === 'pending').length === 0) finals.push(cluster.propose(l));
        }
        const pending = cluster.proposals.filter((p) => p.status === 'pending').length;
        const applied = [...cluster.appliedIndexes().values()];
        const converged = applied.length === n && applied.every((a) => a === applied[0]);
        if (pending === 0 && finals.filter((p) => p.status === 'committed').length >= 3 && converged) break;
        await cluster.run(20);
      }
      const pending = cluster.proposals.filter((p) => p.status === 'pending');
      if (pending.length > 0)
        liveness.push(
          `${pending.length} proposals still pending (e.g. #${pending[0]?.seq} via ${pending[0]?.via})`,
        );
      if (finals.filter((p) => p.status === 'committed').length < 3)
        liveness.push('fresh proposals did not commit');
      const applied = cluster.appliedIndexes();
      const vals = [...applied.values()];
      if (vals.length !== n || !vals.every((a) => a === vals[0]))
        liveness.push(`members did not converge: ${JSON.stringify([...applied])}`);
    }
  }
  cluster.checker.checkLogMatching(cluster.liveRafts(), 1 << 30);
  const count = (s: string) => cluster.proposals.filter((p) => p.status === s).length;
  cluster.stop();
  return {
    seed: opts.seed,
    violations: cluster.checker.violations,
    liveness,
    proposals: {
      committed: count('committed'),
      rejected: count('rejected'),
      dropped: count('dropped'),
      lost: count('lost'),
      pending: count('pending'),
    },
    elections: cluster.checker.elections.length,
    virtualMs: world.now(),
    traceHash: world.trace.hash,
    log,
  };
}
