import type { NodeConfig } from '../../runtime/node/node.js';
import type { Seed } from '../prng.js';
import type { Violation } from './checker.js';
import { SimCluster } from './cluster.js';

/** Outcome of a targeted scenario: checker violations plus scenario-level findings. */
export interface ScenarioResult {
  seed: Seed;
  violations: Violation[];
  /** Scenario-specific problems (e.g. a disruption pre-vote should have prevented). */
  findings: string[];
}

async function until(c: SimCluster, cond: () => boolean, ms: number): Promise<boolean> {
  await c.world.runFor(ms, { stopWhen: () => cond() || c.checker.violations.length > 0 });
  return cond();
}

function finish(c: SimCluster, seed: Seed, findings: string[]): ScenarioResult {
  c.checker.checkLogMatching(c.liveRafts(), 1 << 30);
  c.stop();
  return { seed, violations: [...c.checker.violations], findings };
}

/**
 * Crash right after acknowledging: followers on slow disks acknowledge appends, then crash (or the
 * leader does) at a random instant, then the survivors elect a leader and keep writing. With the
 * persistence contract an acknowledged entry survives the crash; acknowledging before sync loses
 * committed entries, which the checker sees as a state-machine-safety violation.
 */
export async function crashAfterAck(seed: Seed, config: NodeConfig = {}): Promise<ScenarioResult> {
  const c = await SimCluster.start({
    seed,
    nodes: 3,
    config,
    disk: { syncLatency: { minMs: 5, maxMs: 40 } },
  });
  const rng = c.world.rng.fork('scenario');
  const findings: string[] = [];
  const l = await c.waitForLeader();
  if (!l) return finish(c, seed, ['no initial leader']);
  await c.run(100);
  const [f1, f2] = c.ids.filter((x) => x !== l) as [string, string];
  c.world.network.isolate(f2);
  for (let i = 0; i < rng.int(1, 4); i++) c.propose(l);
  await c.run(rng.int(5, 45));
  c.crash(l);
  c.crash(f1);
  c.world.network.heal();
  c.restart(f1);
  await c.run(rng.int(300, 800));
  for (let i = 0; i < 3; i++) c.propose();
  await c.run(300);
  c.restart(l);
  await c.run(600);
  for (let i = 0; i < 2; i++) c.propose();
  await c.run(400);
  return finish(c, seed, findings);
}

/**
 * Vote, crash, vote again: a narrow election window forces competing candidates of one term while
 * voters bounce (crash and restart at once) right after voting. With votes persisted a voter never
 * votes twice in a term; with votes forgotten two leaders of one term appear (election safety).
 */
export async function bounceVoters(seed: Seed, config: NodeConfig = {}): Promise<ScenarioResult> {
  const c = await SimCluster.start({
    seed,
    nodes: 3,
    config: { electionTimeoutMin: 150, electionTimeoutMax: 160, preVote: false, ...config },
    network: { minDelayMs: 1, maxDelayMs: 10 },
  });
  const rng = c.world.rng.fork('scenario');
  const end = c.world.now() + 1500;
  let rounds = 0;
  while (c.world.now() < end && c.checker.violations.length === 0) {
    for (const { id, raft } of c.liveRafts()) {
      if (
        raft.role === 'follower' &&
        raft.votedFor !== null &&
        raft.votedFor !== id &&
        raft.leaderId === null &&
        rng.chance(0.5)
      ) {
        c.restart(id);
      }
    }
    await c.run(1);
    if (c.leader() && rng.chance(0.02)) {
      const l = c.leader() as string;
      c.world.network.isolate(l);
      rounds++;
      c.world.after(rng.int(50, 400), () => c.world.network.rejoin(l));
    }
  }
  return finish(c, seed, rounds === 0 ? ['no leader changes'] : []);
}

/**
 * Raft Figure 8 with real members: an entry of an earlier term reaches a majority under a later
 * leader, which crashes before its own entry does; a member with a conflicting entry of a
 * higher term then wins. A correct leader never commits the earlier-term entry by counting, so
 * nothing committed is lost; the unsafe variant loses it (state machine safety).
 */
export async function figure8(seed: Seed, config: NodeConfig = {}): Promise<ScenarioResult> {
  const cfg: NodeConfig = { maxAppendEntries: 1, ...config };
  const c = await SimCluster.start({
    seed,
    nodes: 5,
    config: cfg,
    network: { minDelayMs: 1, maxDelayMs: 3 },
  });
  const rng = c.world.rng.fork('scenario');
  const net = c.world.network;
  const findings: string[] = [];
  const a = await c.waitForLeader();
  if (!a) return finish(c, seed, ['no initial leader']);
  await c.run(100);
  const others = rng.shuffle(c.ids.filter((x) => x !== a));
  const [b, cc, d, e] = others as [string, string, string, string];
  // 1. a replicates X to b only, then crashes.
  net.partition([a, b], [cc, d, e]);
  c.propose(a);
  await c.run(20);
  c.crash(a);
  // 2. one of c, d, e becomes leader (its no-op stays local: isolated at once), then crashes.
  const won = await until(c, () => [cc, d, e].some((x) => c.nodes.get(x)?.raft.role === 'leader'), 3000);
  if (!won) return finish(c, seed, ['no second leader']);
  const l2 = [cc, d, e].find((x) => c.nodes.get(x)?.raft.role === 'leader') as string;
  net.isolate(l2);
  await c.run(rng.int(1, 20));
  c.crash(l2);
  net.heal();
  const rest = [cc, d, e].filter((x) => x !== l2) as [string, string];
  // 3. a restarts; a or b (they hold X) leads a later term and replicates X to a third member.
  c.restart(a);
  net.partition([a, b, rest[0]], [rest[1], l2]);
  const won3 = await until(c, () => [a, b].some((x) => c.nodes.get(x)?.raft.role === 'leader'), 3000);
  if (!won3) return finish(c, seed, ['no third leader']);
  const l3 = [a, b].find((x) => c.nodes.get(x)?.raft.role === 'leader') as string;
  const other = l3 === a ? b : a;
  const start = c.nodes.get(l3)?.raft.commit ?? 0;
  await until(c, () => (c.nodes.get(l3)?.raft.commit ?? 0) > start, rng.int(5, 60));
  // 4. the third leader and its partner crash; the second leader returns and may win.
  // Frames still in flight from the crashed pair are cut (a partition also cuts frames in flight).
  c.crash(l3);
  c.crash(other);
  net.partition([l3, other], [l2, ...rest]);
  c.restart(l2);
  await c.run(1500);
  c.propose();
  await c.run(500);
  net.heal();
  c.restart(l3);
  c.restart(other);
  await c.run(800);
  c.propose();
  await c.run(500);
  return finish(c, seed, findings);
}

/**
 * A follower is partitioned away for a while and rejoins. With pre-vote it never raises its
 * term, so the leader keeps leading in its term; without, the rejoin disrupts the cluster.
 */
export async function partitionedRejoin(seed: Seed, config: NodeConfig = {}): Promise<ScenarioResult> {
  const c = await SimCluster.start({ seed, nodes: 3, config });
  const rng = c.world.rng.fork('scenario');
  const l = await c.waitForLeader();
  if (!l) return finish(c, seed, ['no initial leader']);
  await c.run(200);
  const term = c.nodes.get(l)?.raft.term ?? 0;
  const f = rng.pick(c.ids.filter((x) => x !== l));
  c.world.network.isolate(f);
  await c.run(rng.int(500, 2000));
  c.world.network.rejoin(f);
  await c.run(1000);
  const findings: string[] = [];
  const leaderNow = c.leader();
  const termNow = leaderNow ? (c.nodes.get(leaderNow)?.raft.term ?? 0) : -1;
  if (leaderNow !== l || termNow !== term)
    findings.push(`rejoin of ${f} disrupted the cluster: term ${term} -> ${termNow}`);
  return finish(c, seed, findings);
}
