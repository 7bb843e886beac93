/**
 * Raft §5.2/§5.4 assume stable storage: a voter never forgets its log or its vote. A voter whose
 * data dir was emptied and that came back with its static member list (a plain restart, no
 * `--join`) used to vote at once, with an empty log, for any candidate: a lagging member could be
 * elected and overwrite entries the wiped member had helped commit. Such a start is also how a
 * cluster forms, where every member is empty and must vote at once. A member started that way
 * (`freshBootstrap`) now votes only for candidates with an empty log until its log reaches the
 * commit index of the first append it received (its target, kept across restarts), and campaigns
 * only while its own log is empty; both only until it hears of commits.
 */
import { describe, expect, it } from 'vitest';
import type { AppendRequest, RaftMessage } from '../../generated/index.js';
import type { RaftConfig } from '../../runtime/raft/raft.js';
import { CoreNet } from './core-net.js';

const ids3 = ['a', 'b', 'c'];

/** Five entries committed everywhere, then ten on {leader, wiped} while `lagger` was down. */
function committedWithoutTheLagger(seed: number, cfg: Partial<RaftConfig> = {}) {
  const net = new CoreNet(ids3, cfg, seed);
  const leader = net.elect();
  const [lagger, wiped] = ids3.filter((id) => id !== leader) as [string, string];
  const base = Array.from({ length: 5 }, (_, i) => `base${i}`);
  for (const b of base) net.propose(leader, b);
  net.run(50);
  expect(net.appliedCommands(lagger)).toEqual(base);
  net.crash(lagger);
  const written = [...base, ...Array.from({ length: 10 }, (_, i) => `w${i}`)];
  for (const w of written.slice(base.length)) net.propose(leader, w);
  net.run(50);
  expect(net.appliedCommands(leader)).toEqual(written);
  return { net, leader, lagger, wiped, written, laggerLast: net.core(lagger).log.lastIndex() };
}

/**
 * Empties `wiped`'s dir and restarts it as a fresh bootstrap whose catch-up stops at `partial`
 * entries (appends reaching past it are dropped), then runs 200 ms.
 */
function wipeWithSlowCatchUp(net: CoreNet, wiped: string, partial: number): void {
  net.crash(wiped);
  net.filter = (_from, to, m: RaftMessage) =>
    to === wiped &&
    m.type === 'AppendRequest' &&
    (m as AppendRequest).entries.length > 0 &&
    (m as AppendRequest).prevLogIndex + (m as AppendRequest).entries.length > partial;
  net.wipeAndBootstrap(wiped);
  net.run(200);
}

describe('a voter whose data dir was emptied, back with the static member list (stable storage, §5.2)', () => {
  it('does not help a lagging member win: the entries it helped commit survive', () => {
    const { net, leader, lagger, wiped, written } = committedWithoutTheLagger(5);
    net.crash(leader);
    net.crash(wiped);
    net.wipeAndBootstrap(wiped);
    net.restart(lagger);
    net.run(3000);
    // Before, the wiped member's vote elected the lagger, which then overwrote the ten entries.
    expect(net.leaders()).toEqual([]);
    expect(net.core(wiped).status().joinCheck).toBe('pending');

    net.restart(leader);
    expect(net.elect()).toBe(leader); // the only member holding the committed entries
    net.run(300);
    expect(net.core(wiped).status().joinCheck).toBe('ok');
    for (const id of ids3) expect(net.appliedCommands(id).slice(0, written.length), id).toEqual(written);

    // Caught up, it votes again: the two others elect a leader without the first one.
    net.crash(leader);
    const next = net.elect();
    expect([lagger, wiped]).toContain(next);
    net.propose(next, 'after');
    net.run(100);
    expect(net.appliedCommands(next)).toEqual([...written, 'after']);
  });

  it('keeps its target across a restart in the middle of catch-up', () => {
    const { net, leader, lagger, wiped, written, laggerLast } = committedWithoutTheLagger(9, {
      maxAppendEntries: 1,
    });
    // Catch-up is slow: the wiped member gets fewer entries in its first run than the lagger has.
    const partial = laggerLast - 2;
    wipeWithSlowCatchUp(net, wiped, partial);
    const target = net.core(wiped).status().joinTarget;
    expect(target).toBeGreaterThanOrEqual(written.length);
    expect(net.core(wiped).log.lastIndex()).toBe(partial);
    expect(net.core(wiped).status().joinCheck).toBe('pending');

    // Restarted from its partial log (shorter than the lagger's), with the target its first run
    // made durable. A member restored from a log would grant the lagger its vote.
    net.crash(wiped);
    const targetTerm = net.core(wiped).status().joinTargetTerm as number;
    expect(targetTerm).toBeGreaterThan(0);
    net.restart(wiped, { freshBootstrap: true, joinTarget: target as number, joinTargetTerm: targetTerm });
    expect(net.core(wiped).status().joinCheck).toBe('pending');
    net.crash(leader);
    net.restart(lagger);
    net.run(3000);
    expect(net.leaders()).toEqual([]);

    net.restart(leader);
    net.filter = null;
    net.elect();
    net.run(300);
    expect(net.core(wiped).status().joinCheck).toBe('ok');
    expect(net.appliedCommands(wiped).slice(0, written.length)).toEqual(written);
  });
});

describe('a voter whose data dir was emptied, partly caught up', () => {
  it("does not win with a lagging member's vote: its own vote is the one it lost", () => {
    // A review: it campaigned with a log longer than the lagger's but short of what it had helped
    // commit, voted for itself, and won with the lagger's vote.
    for (const seed of [5, 9, 11, 13]) {
      const { net, leader, lagger, wiped, written, laggerLast } = committedWithoutTheLagger(seed, {
        maxAppendEntries: 1,
      });
      const partial = laggerLast + 3;
      wipeWithSlowCatchUp(net, wiped, partial);
      expect(net.core(wiped).log.lastIndex()).toBe(partial);
      expect(net.core(wiped).status().joinTarget).toBeGreaterThan(partial);
      net.filter = null;
      net.crash(leader);
      net.restart(lagger);
      net.run(3000);
      expect(net.leaders(), `seed ${seed}`).toEqual([]);
      net.restart(leader);
      net.elect();
      net.run(300);
      for (const id of [leader, lagger, wiped])
        expect(net.appliedCommands(id).slice(0, written.length), `seed ${seed} ${id}`).toEqual(written);
    }
  });
});

describe('a voter whose data dir was emptied, that has heard of commits but holds no entry yet', () => {
  it('neither campaigns nor votes for an empty candidate (a member that never started)', () => {
    // A second review: it heard from the leader (target above 0) and got no entry yet; the leader
    // died and the third member, never started before, came up empty. The two elected each other
    // and overwrote what the leader and the emptied member had committed.
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const net = new CoreNet(ids3, { freshBootstrap: true }, seed);
      net.crash('c');
      const leader = net.elect();
      const wiped = ids3.find((id) => id !== leader && id !== 'c') as string;
      const written = ['w0', 'w1', 'w2', 'w3'];
      for (const w of written) net.propose(leader, w);
      net.run(100);
      expect(net.appliedCommands(wiped)).toEqual(written);
      net.crash(wiped);
      net.filter = (_from, to, m: RaftMessage) =>
        to === wiped && m.type === 'AppendRequest' && (m as AppendRequest).entries.length > 0;
      net.wipeAndBootstrap(wiped);
      net.run(100);
      expect(net.core(wiped).status().joinTarget).toBeGreaterThan(0);
      expect(net.core(wiped).log.lastIndex()).toBe(0);
      net.filter = null;
      net.crash(leader);
      net.wipeAndBootstrap('c');
      net.run(3000);
      expect(net.leaders(), `seed ${seed}`).toEqual([]);
      // The old leader is back (judged long ago: its marker is gone). The emptied member votes for
      // it, its log covering the committed point the emptied member heard of.
      net.restart(leader, { freshBootstrap: false });
      expect(net.elect()).toBe(leader);
      net.run(300);
      for (const id of ids3)
        expect(net.appliedCommands(id).slice(0, written.length), `seed ${seed} ${id}`).toEqual(written);
    }
  });
});

describe('third review: what the emptied member heard must cover what it acknowledged', () => {
  it('an entry it acknowledged that commits only after the leader first heard from it again survives', () => {
    // Five members; x is acknowledged by the leader and W, then W's dir is emptied. The leader's
    // first heartbeat to W carries commit k (x is not committed yet); Y's slow acknowledgement then
    // commits x. Before, W took (k, term) as its point and voted for a member holding k entries.
    const ids5 = ['a', 'b', 'c', 'd', 'e'];
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const net = new CoreNet(ids5, {}, seed);
      const L = net.elect();
      const [W, Y, X, Z] = ids5.filter((i) => i !== L) as [string, string, string, string];
      for (let i = 0; i < 3; i++) net.propose(L, `p${i}`);
      net.run(50);
      const k = net.core(L).status().commitIndex;
      net.cutLink(L, X);
      net.cutLink(L, Z);
      const held: { from: string; to: string; m: RaftMessage }[] = [];
      let holding = (from: string, to: string, m: RaftMessage) =>
        (from === Y && to === L && m.type === 'AppendResponse') || (from === W && to === L);
      net.filter = (from, to, m) => {
        if (!holding(from, to, m)) return false;
        held.push({ from, to, m });
        return true;
      };
      expect(net.propose(L, 'x').index).toBe(k + 1);
      expect(net.core(W).log.lastIndex()).toBe(k + 1);
      // W's acknowledgement reaches the leader (before W loses its dir); Y's stays held, and so
      // does everything W sends after (its link to the leader is down: it cannot catch up).
      net.queue.push(...held.filter((h) => h.from === W));
      held.splice(0, held.length, ...held.filter((h) => h.from !== W));
      const hold = holding;
      holding = () => false;
      net.deliver();
      holding = hold;
      expect(net.core(L).status().commitIndex).toBe(k);
      net.wipeAndBootstrap(W);
      for (let t = 0; t < 400 && net.core(W).status().joinTarget === null; t += 5) net.run(5);
      expect(net.core(W).status().joinTarget).toBeGreaterThan(k);
      expect(net.core(W).status().joinCheck).toBe('pending');
      // Y's slow acknowledgement: x commits on {L, W (before), Y}.
      holding = (from, to) => from === W && to === L;
      net.queue.unshift(...held.filter((h) => h.from === Y));
      net.deliver();
      expect(net.core(L).status().commitIndex).toBe(k + 1);
      net.filter = null;
      net.crash(L);
      net.crash(Y);
      net.heal();
      net.run(3000);
      // X and Z lack x; W's vote is needed and refused.
      expect(net.leaders(), `seed ${seed}`).toEqual([]);
      net.restart(L);
      net.restart(Y);
      const next = net.elect(5000);
      net.run(300);
      expect(net.appliedCommands(next), `seed ${seed}`).toContain('x');
    }
  });

  it('a target restored without its term admits no candidate until an append brings one', () => {
    // L holds uncommitted y0..y4 of term 1; M commits z with W in term 2; W's dir is emptied and
    // its marker holds the target only. L (a longer log, an older last term) must not win.
    for (const seed of [1, 2, 3, 4]) {
      const net = new CoreNet(ids3, {}, seed);
      const L = net.elect();
      net.propose(L, 'p0');
      net.run(50);
      net.isolate(L);
      for (let i = 0; i < 5; i++) net.propose(L, `y${i}`);
      net.crash(L);
      net.heal();
      const M = net.elect();
      const W = ids3.find((i) => i !== L && i !== M) as string;
      net.propose(M, 'z');
      net.run(50);
      const target = net.core(M).status().commitIndex;
      expect(net.core(L).log.lastIndex()).toBeGreaterThan(target);
      net.crash(W);
      net.wipeAndBootstrap(W);
      net.crash(W);
      net.restart(W, { freshBootstrap: true, joinTarget: target });
      net.crash(M);
      net.restart(L, { freshBootstrap: false });
      net.run(3000);
      expect(net.leaders(), `seed ${seed}`).toEqual([]);
      net.restart(M, { freshBootstrap: false });
      const next = net.elect(5000);
      net.run(300);
      expect(net.appliedCommands(next), `seed ${seed}`).toContain('z');
    }
  });
});

describe('a cluster that is forming (every member started fresh with the static member list)', () => {
  it('elects at once, and every member is judged at its first append', () => {
    const net = new CoreNet(ids3, { freshBootstrap: true }, 3);
    for (const id of ids3) expect(net.core(id).status().joinCheck).toBe('pending');
    const leader = net.elect();
    net.propose(leader, 'x');
    net.run(100);
    for (const id of ids3) {
      expect(net.core(id).status().joinCheck, id).toBe('ok');
      expect(net.appliedCommands(id), id).toEqual(['x']);
    }
    net.crash(leader);
    expect(net.elect()).not.toBe(leader);
  });

  it('a member that starts late votes for a member with a log only once it has caught up', () => {
    const net = new CoreNet(ids3, { freshBootstrap: true }, 7);
    net.crash('c');
    const leader = net.elect();
    const written = ['p0', 'p1', 'p2'];
    for (const w of written) net.propose(leader, w);
    net.run(50);
    net.wipeAndBootstrap('c');
    expect(net.core('c').status().joinCheck).toBe('pending');
    net.run(200);
    expect(net.core('c').status().joinCheck).toBe('ok');
    expect(net.appliedCommands('c')).toEqual(written);
    net.crash(leader);
    expect(net.elect()).not.toBe(leader);
  });

  it('a member started normally is not checked', () => {
    const net = new CoreNet(ids3, {}, 3);
    net.elect();
    for (const id of ids3) expect(net.core(id).status().joinCheck).toBeNull();
  });
});
