import { describe, expect, it } from 'vitest';
import { ELECTION_TIMEOUT_MAX_MS, HEARTBEAT_INTERVAL_MS } from '../../generated/index.js';
import { SimCluster } from '../../sim/cluster/cluster.js';
import { runSchedule } from '../../sim/cluster/schedule.js';

const seeds = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);

function expectClean(c: SimCluster): void {
  expect(c.checker.violations).toEqual([]);
}

async function converge(c: SimCluster, ms = 3000): Promise<void> {
  await c.world.runFor(ms, {
    stopWhen: () => {
      const v = [...c.appliedIndexes().values()];
      const l = c.leader();
      const settled = c.proposals.every((p) => p.status !== 'pending');
      return settled && v.length === c.ids.length && !!l && v.every((x) => x === c.nodes.get(l)?.raft.commit);
    },
  });
}

describe('lab scenarios on simulated members (each on many seeds)', () => {
  it('initial election: exactly one leader, every member agrees, and it stays while healthy', async () => {
    for (const seed of seeds(10)) {
      const c = await SimCluster.start({ seed, nodes: 3 });
      const l = await c.waitForLeader(2000);
      expect(l).not.toBeNull();
      await c.run(300);
      const term = c.nodes.get(l as string)?.raft.term;
      for (const { raft } of c.liveRafts()) {
        expect(raft.leaderId).toBe(l);
        expect(raft.term).toBe(term);
      }
      await c.run(2000);
      expect(c.leader()).toBe(l);
      expect(c.nodes.get(l as string)?.raft.term).toBe(term);
      expectClean(c);
      c.stop();
    }
  });

  it('leader_election_basic (members on a simulated network): a new leader within 300 ms of detection', async () => {
    for (const seed of seeds(10)) {
      const c = await SimCluster.start({ seed, nodes: 3 });
      const l = (await c.waitForLeader()) as string;
      await c.run(200);
      c.crash(l);
      const t0 = c.world.now();
      await c.world.runFor(3000, { stopWhen: () => c.leader() !== null });
      expect(c.leader()).not.toBeNull();
      // detection happens at the latest one election timeout (+ one heartbeat) after the crash
      expect(c.world.now() - t0).toBeLessThan(ELECTION_TIMEOUT_MAX_MS + HEARTBEAT_INTERVAL_MS + 300);
      c.restart(l);
      await c.run(1000);
      expect(c.leadersByTerm().size).toBe(1);
      expectClean(c);
      c.stop();
    }
  });

  it('many elections: with a majority up there is always a leader again', async () => {
    for (const seed of seeds(5)) {
      const c = await SimCluster.start({ seed, nodes: 5 });
      const rng = c.world.rng.fork('test');
      for (let i = 0; i < 8; i++) {
        const down = rng.shuffle(c.ids).slice(0, 2);
        for (const d of down) c.crash(d);
        const l = await c.waitForLeader(3000);
        expect(l).not.toBeNull();
        for (const d of down) c.restart(d);
        await c.run(rng.int(100, 500));
      }
      expectClean(c);
      c.stop();
    }
  });

  it('basic agreement and concurrent proposals: every member applies the same commands in order', async () => {
    for (const seed of seeds(10)) {
      const c = await SimCluster.start({ seed, nodes: 3 });
      const l = (await c.waitForLeader()) as string;
      const ps = Array.from({ length: 40 }, () => c.propose(l));
      await converge(c);
      expect(ps.every((p) => p.status === 'committed')).toBe(true);
      expect(new Set(ps.map((p) => p.index)).size).toBe(40);
      const applied = [...c.appliedIndexes().values()];
      expect(new Set(applied).size).toBe(1);
      expectClean(c);
      c.stop();
    }
  });

  it('agreement despite a disconnected follower, which catches up on rejoin', async () => {
    for (const seed of seeds(10)) {
      const c = await SimCluster.start({ seed, nodes: 3 });
      const l = (await c.waitForLeader()) as string;
      const f = c.ids.find((x) => x !== l) as string;
      c.world.network.isolate(f);
      const ps = Array.from({ length: 5 }, () => c.propose(l));
      await c.run(300);
      expect(ps.every((p) => p.status === 'committed')).toBe(true);
      c.world.network.rejoin(f);
      await converge(c);
      expect(c.nodes.get(f)?.raft.applied).toBe(c.nodes.get(l)?.raft.commit);
      expectClean(c);
      c.stop();
    }
  });

  it('commit_on_majority / no agreement without a majority: 3 of 5 followers cut off, nothing commits', async () => {
    for (const seed of seeds(8)) {
      const c = await SimCluster.start({ seed, nodes: 5, config: { checkQuorum: false } });
      const l = (await c.waitForLeader()) as string;
      await c.run(100);
      const cut = c.ids.filter((x) => x !== l).slice(0, 3);
      for (const x of cut) c.world.network.isolate(x);
      const before = c.nodes.get(l)?.raft.commit ?? 0;
      const ps = Array.from({ length: 3 }, () => c.propose(l));
      await c.run(1000);
      expect(c.nodes.get(l)?.raft.commit).toBe(before);
      expect(ps.every((p) => p.status === 'pending')).toBe(true);
      c.world.network.heal();
      await converge(c, 5000);
      expect(ps.every((p) => p.status !== 'pending')).toBe(true);
      expectClean(c);
      c.stop();
    }
  });

  it('rejoin of a partitioned leader: its uncommitted entries are dropped, the cluster converges', async () => {
    for (const seed of seeds(10)) {
      const c = await SimCluster.start({ seed, nodes: 3 });
      const l1 = (await c.waitForLeader()) as string;
      await c.run(100);
      const old = c.liveRafts().find((r) => r.id === l1)?.raft;
      const [oldTerm, oldLast] = [old?.term, old?.log.lastIndex() ?? 0];
      c.world.network.isolate(l1);
      const lost = Array.from({ length: 3 }, () => c.propose(l1));
      await c.world.runFor(3000, { stopWhen: () => c.leader() !== null && c.leader() !== l1 });
      const l2 = c.leader() as string;
      expect(l2).not.toBe(l1);
      const kept = Array.from({ length: 3 }, () => c.propose(l2));
      await c.run(300);
      c.world.network.rejoin(l1);
      await converge(c);
      expect(kept.every((p) => p.status === 'committed')).toBe(true);
      // The old leader's proposals ended as unknown: when it stepped down (ProposalIndeterminate,
      // 'lost') or, if it learned of the new leader first, when its entries were overwritten...
      for (const p of lost) expect(['lost', 'dropped'], `seed ${seed}`).toContain(p.status);
      // ...and its entries of them never committed: nothing after its log of the isolation is of its term.
      for (const [index, e] of c.checker.committed) if (index > oldLast) expect(e.term).not.toBe(oldTerm);
      expectClean(c);
      c.stop();
    }
  });

  it('persistence across crashes: every member crashes and restarts, nothing acknowledged is lost', async () => {
    for (const seed of seeds(10)) {
      const c = await SimCluster.start({ seed, nodes: 3, disk: { syncLatency: { minMs: 0.5, maxMs: 5 } } });
      const l = (await c.waitForLeader()) as string;
      const ps = Array.from({ length: 10 }, () => c.propose(l));
      await c.run(200);
      const acked = ps.filter((p) => p.status === 'committed');
      expect(acked.length).toBe(10);
      for (const id of c.ids) c.crash(id);
      for (const id of c.ids) c.restart(id);
      await c.waitForLeader();
      c.propose();
      await converge(c);
      for (const p of acked) expect(c.checker.committed.get(p.index as number)?.term).toBe(p.term);
      for (const { raft } of c.liveRafts())
        expect(raft.applied).toBeGreaterThanOrEqual(Math.max(...acked.map((p) => p.index as number)));
      expectClean(c);
      c.stop();
    }
  });

  it('message counts: an idle cluster sends a bounded number of messages per second', async () => {
    for (const [n, bound] of [
      [3, 2 * 2 * (1000 / HEARTBEAT_INTERVAL_MS) * 1.1],
      [5, 4 * 2 * (1000 / HEARTBEAT_INTERVAL_MS) * 1.1],
    ] as const) {
      for (const seed of seeds(3)) {
        const c = await SimCluster.start({ seed, nodes: n });
        await c.waitForLeader();
        await c.run(500);
        const before = c.world.network.totals().sent;
        await c.run(10_000);
        const perSecond = (c.world.network.totals().sent - before) / 10;
        expect(perSecond).toBeLessThanOrEqual(bound);
        expect(perSecond).toBeGreaterThan(0);
        c.stop();
      }
    }
  });

  it('snapshots: the log is compacted every snapshotInterval entries and a restarted follower installs the snapshot', async () => {
    for (const seed of seeds(6)) {
      const c = await SimCluster.start({
        seed,
        nodes: 3,
        config: { snapshotInterval: 25, snapshotChunkBytes: 64 },
      });
      const l = (await c.waitForLeader()) as string;
      const f = c.ids.find((x) => x !== l) as string;
      c.crash(f);
      for (let i = 0; i < 120; i++) {
        c.propose(l, `key${i}`);
        if (i % 20 === 0) await c.run(20);
      }
      await c.run(500);
      const lr = c.nodes.get(l)?.raft;
      expect(lr?.log.snapshotIndex).toBeGreaterThanOrEqual(60);
      expect(lr?.log.firstIndex()).toBeGreaterThan(1);
      expect(c.nodes.get(l)?.status().snapshotsTaken).toBeGreaterThanOrEqual(2);
      c.restart(f);
      await converge(c, 5000);
      const fr = c.nodes.get(f);
      expect(fr?.raft.log.snapshotIndex).toBeGreaterThan(0);
      const kvL = c.nodes.get(l)?.stateMachine.snapshot();
      const kvF = fr?.stateMachine.snapshot();
      expect(kvF).toEqual(kvL);
      // crash the follower again: it recovers from its own snapshot + log
      c.crash(f);
      c.restart(f);
      await converge(c, 3000);
      expect(c.nodes.get(f)?.stateMachine.snapshot()).toEqual(c.nodes.get(l)?.stateMachine.snapshot());
      expectClean(c);
      c.stop();
    }
  });

  it('membership under faults: add a learner, promote it once caught up, remove a voter (joint consensus)', async () => {
    for (const seed of seeds(8)) {
      const initialConfig = { voters: ['n1', 'n2', 'n3'], votersOutgoing: [], learners: [], addresses: [] };
      const c = await SimCluster.start({ seed, nodes: 4, config: { initialConfig } });
      const rng = c.world.rng.fork('test');
      const change = async (
        cc: Parameters<NonNullable<ReturnType<SimCluster['nodes']['get']>>['changeMembership']>[0],
      ) => {
        for (let attempt = 0; attempt < 40; attempt++) {
          const l = await c.waitForLeader(3000);
          const node = l ? c.nodes.get(l) : null;
          if (node) {
            const p = node.changeMembership(cc).then(
              () => true,
              () => false,
            );
            let done: boolean | null = null;
            void p.then((v) => {
              done = v;
            });
            await c.world.runFor(600, { stopWhen: () => done !== null });
            if (done === true) return true;
          }
          await c.run(100);
        }
        return false;
      };
      for (let i = 0; i < 5; i++) c.propose();
      expect(await change({ changeType: 'add_learner', nodeId: 'n4', address: 'n4:1' })).toBe(true);
      c.crash(rng.pick(['n1', 'n2', 'n3']));
      await c.run(rng.int(50, 400));
      c.healAll();
      expect(await change({ changeType: 'promote_learner', nodeId: 'n4', address: '' })).toBe(true);
      const victim = rng.pick(['n1', 'n2', 'n3']);
      expect(await change({ changeType: 'remove_node', nodeId: victim, address: '' })).toBe(true);
      await c.run(1500);
      const l = c.leader() as string;
      expect(l).not.toBe(victim);
      const cfg = c.nodes.get(l)?.raft.config();
      expect(cfg?.voters).toContain('n4');
      expect(cfg?.voters).not.toContain(victim);
      expect(cfg?.votersOutgoing).toEqual([]);
      expectClean(c);
      c.stop();
    }
  });

  it('malformed frames are dropped and counted, never crash a member', async () => {
    const c = await SimCluster.start({ seed: 3, nodes: 3 });
    const l = (await c.waitForLeader()) as string;
    const f = c.ids.find((x) => x !== l) as string;
    const env = c.world.env(l);
    for (const junk of [
      new Uint8Array([255, 255, 255]),
      new Uint8Array([3, 1]),
      new Uint8Array(0),
      new Uint8Array(50).fill(9),
    ])
      env.network.send(f, junk);
    await c.run(200);
    expect(c.nodes.get(f)?.status().framesDropped).toBe(4);
    expect(c.nodes.get(f)?.error).toBeNull();
    c.propose(l);
    await converge(c);
    expectClean(c);
    c.stop();
  });

  it('Figure 8 (unreliable), unreliable network and churn: randomized schedules stay safe and live', async () => {
    for (const seed of seeds(12)) {
      const fig8 = await runSchedule({
        seed,
        nodes: 5,
        config: { maxAppendEntries: 1 },
        faults: { crashLeader: 4, bounce: 2, lossy: 2, restart: 4 },
      });
      const lossy = await runSchedule({
        seed,
        nodes: 3,
        faults: { lossy: 6, crash: 0, bounce: 0, crashLeader: 0, restart: 0, pause: 0 },
      });
      const churn = await runSchedule({
        seed,
        nodes: 5,
        faults: { bounce: 4, crash: 3, restart: 5, crashLeader: 2, lossy: 0 },
      });
      for (const r of [fig8, lossy, churn]) {
        expect(r.violations, `seed ${seed} ${r.log.join('\n')}`).toEqual([]);
        expect(r.liveness, `seed ${seed}`).toEqual([]);
      }
    }
  });
});
