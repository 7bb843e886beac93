/**
 * Raft §5.2/§5.4 assume stable storage: a voter never forgets its log or its vote. A voter whose
 * data dir was emptied and that came back with `--join` used to vote at once, with an empty log,
 * for any candidate, so a lagging member could be elected and overwrite entries that the wiped
 * member had helped commit (a review lost 591 acknowledged writes that way). A member started fresh
 * to join (`freshJoin`) now withholds its vote until it has caught up to the commit index of the
 * first append it received (its join target, kept across restarts) and the configuration there, or
 * the first later one naming it, shows it as a newcomer; one that already counted it as a voter
 * marks its log as lost and it never votes. A leader notices a follower that lost acknowledged
 * entries only from a rejection of an append sent after the acknowledgement (read_seq).
 */
import { describe, expect, it } from 'vitest';
import type { AppendRequest, RaftMessage } from '../../generated/index.js';
import type { RaftConfig } from '../../runtime/raft/raft.js';
import { CoreNet, threeVotersAndD } from './core-net.js';

const ids3 = ['a', 'b', 'c'];

/** Elects a leader and names the two others. */
function roles(net: CoreNet): { leader: string; x: string; y: string } {
  const leader = net.elect();
  const [x, y] = ids3.filter((id) => id !== leader) as [string, string];
  return { leader, x, y };
}

describe('a voter whose data dir was emptied, back with --join (stable storage, §5.2)', () => {
  it('does not help a lagging member win: the entries it helped commit survive', () => {
    const net = new CoreNet(ids3, {}, 5);
    const { leader, x: lagger, y: wiped } = roles(net);
    net.crash(lagger);
    const written: string[] = [];
    for (let i = 0; i < 10; i++) {
      const text = `w${i}`;
      net.propose(leader, text);
      written.push(text);
    }
    net.run(50);
    // Committed on {leader, wiped}: a majority of three.
    expect(net.appliedCommands(leader)).toEqual(written);

    net.crash(leader);
    net.crash(wiped);
    net.wipeAndJoin(wiped);
    net.restart(lagger);
    net.run(3000);
    // The lagger alone cannot win; before, the wiped member's vote elected it.
    expect(net.leaders()).toEqual([]);
    expect(net.core(wiped).status().joinCheck).toBe('pending');

    net.restart(leader);
    const next = net.elect();
    expect(next).toBe(leader); // the only member holding the committed entries
    net.run(200);
    for (const id of [leader, lagger])
      expect(net.appliedCommands(id).slice(0, written.length), id).toEqual(written);
    // It learns no configuration naming it (the initial one is not in the log): still unjudged,
    // so it still never votes.
    expect(net.core(wiped).status().joinCheck).toBe('pending');
    net.crash(leader);
    net.run(3000);
    expect(net.leaders()).toEqual([]);
  });

  it('a voter once added as a learner and promoted is judged by the configuration of now, not by its own addition in the log', () => {
    const net = threeVotersAndD(21);
    const leader = net.elect();
    net.core(leader).proposeConfChange({ changeType: 'add_learner', nodeId: 'd', address: 'd:1' });
    net.run(200);
    net.core(leader).proposeConfChange({ changeType: 'promote_learner', nodeId: 'd', address: '' });
    net.run(500);
    net.propose(leader, 'w0');
    expect(net.core(leader).config().voters).toEqual(['a', 'b', 'c', 'd']);
    net.crash('d');
    net.wipeAndJoin('d');
    net.run(300);
    // Its log replays its addition as a learner first; the configuration of today counts it as a
    // voter already.
    expect(net.core('d').status().joinCheck).toBe('lost_log');
    // A restart keeps it so (judged again once caught up).
    net.crash('d');
    net.restart('d', { freshJoin: true });
    expect(net.core('d').status().joinCheck).toBe('pending');
    net.run(300);
    expect(net.core('d').status().joinCheck).toBe('lost_log');
    // Four voters, the leader and one more down: d's vote would be needed and is withheld.
    const other = ['a', 'b', 'c'].find((id) => id !== leader) as string;
    net.crash(leader);
    net.crash(other);
    net.run(3000);
    expect(net.leaders()).toEqual([]);
  });
});

describe('a newcomer started with --join', () => {
  it('added as a learner and promoted, votes like any voter', () => {
    const net = threeVotersAndD(13);
    net.wipeAndJoin('d');
    const leader = net.elect();
    net.core(leader).proposeConfChange({ changeType: 'add_learner', nodeId: 'd', address: 'd:1' });
    net.run(200);
    expect(net.core('d').status().joinCheck).toBe('ok');
    net.core(leader).proposeConfChange({ changeType: 'promote_learner', nodeId: 'd', address: '' });
    net.run(500);
    expect(net.core(leader).config().voters).toEqual(['a', 'b', 'c', 'd']);
    // Four voters, the leader down: the other two need d's vote.
    net.crash(leader);
    expect(net.elect()).not.toBe(leader);
  });

  it('added directly as a voter (an incoming voter of the joint configuration) votes too', () => {
    const net = threeVotersAndD(17);
    net.wipeAndJoin('d');
    const leader = net.elect();
    net.core(leader).proposeConfChange({ changeType: 'add_voter', nodeId: 'd', address: 'd:1' });
    net.run(500);
    expect(net.core('d').status().joinCheck).toBe('ok');
    net.crash(leader);
    expect(net.elect()).not.toBe(leader);
  });

  it('a member started normally is not checked', () => {
    const net = new CoreNet(ids3, {}, 3);
    net.elect();
    for (const id of ids3) expect(net.core(id).status().joinCheck).toBeNull();
  });
});

const JOIN = { freshJoin: true, peers: [] as string[], initialConfig: undefined };

/** voters {L, x, d}: d joined legitimately (learner, judged ok, promoted); the third was removed. */
function clusterWithJoinedD(seed: number) {
  const net = threeVotersAndD(seed, { maxAppendEntries: 1 });
  net.wipeAndJoin('d');
  const L = net.elect();
  for (let i = 0; i < 5; i++) net.propose(L, `pre${i}`);
  const i1 = net.core(L).proposeConfChange({ changeType: 'add_learner', nodeId: 'd', address: 'd:1' }).index;
  net.run(200);
  expect(net.core('d').status().joinCheck).toBe('ok');
  net.core(L).proposeConfChange({ changeType: 'promote_learner', nodeId: 'd', address: '' });
  net.run(300);
  const [x, gone] = ['a', 'b', 'c'].filter((id) => id !== L) as [string, string];
  net.core(L).proposeConfChange({ changeType: 'remove_node', nodeId: gone, address: '' });
  net.run(300);
  net.crash(gone);
  expect(net.core(L).config().voters).toEqual([L, x, 'd'].sort());
  expect(net.core(L).config().votersOutgoing).toEqual([]);
  return { net, L, x, i1 };
}

describe('a restart in the middle of catch-up (the judgement must not move)', () => {
  it('a wiped voter restarted mid-catch-up must not be judged a newcomer (its first append after the restart is a heartbeat)', () => {
    const { net, L, x, i1 } = clusterWithJoinedD(31);
    for (let i = 0; i < 3; i++) net.propose(L, `base${i}`);
    net.run(100);
    const laggerLast = net.core(L).log.lastIndex();
    // x lags from here; W commits on {L, d}.
    net.crash(x);
    const W = ['w0', 'w1', 'w2', 'w3'];
    for (const w of W) net.propose(L, w);
    net.run(100);
    expect(net.appliedCommands(L).slice(-4)).toEqual(W);
    expect(net.core('d').log.lastIndex()).toBeGreaterThan(laggerLast);

    // d's data dir is emptied; it comes back with --join.
    net.crash('d');
    // Catch-up is slow (large log): d holds only entries below its own addition when it restarts.
    let limit = i1 - 2;
    net.filter = (from, to, m: RaftMessage) =>
      from === L &&
      to === 'd' &&
      m.type === 'AppendRequest' &&
      (m as AppendRequest).entries.length > 0 &&
      (m as AppendRequest).prevLogIndex + (m as AppendRequest).entries.length > limit;
    net.wipeAndJoin('d');
    net.run(150);
    expect(net.core('d').status().joinCheck).toBe('pending');
    // One more entry arrives (the probe of the next heartbeat): the leader replicates again, and
    // its pipeline to d is in flight when d restarts.
    limit = i1 - 1;
    net.run(50);
    expect(net.core('d').log.lastIndex()).toBe(limit);
    const pd = net
      .core(L)
      .status()
      .progress.find((p) => p.id === 'd');
    expect(pd?.state).toBe('replicate');
    expect(pd?.match).toBe(limit);

    // d restarts (crash, systemd, k8s...): the JOINING marker keeps freshJoin and the target the
    // first run found (the server makes it durable before d acknowledges anything).
    const saved = net.core('d').status().joinTarget;
    expect(saved).not.toBeNull();
    net.crash('d');
    net.restart('d', { ...JOIN, joinTarget: saved as number });
    expect(net.core('d').status().joinCheck).toBe('pending');
    // The first append of this run is a heartbeat (any linearizable read sends one): prev = match,
    // leaderCommit = min(commit, match) = d's own progress.
    net.core(L).readIndex('r1');
    net.deliver();
    // Catch-up continues, up to what the lagger holds.
    limit = laggerLast;
    net.run(400);
    expect(net.core('d').log.lastIndex()).toBe(laggerLast);
    // It is a voter whose log was lost: it must not be judged a newcomer. (Judged 'ok' today: the
    // first configuration naming it after "target" is its own addition as a learner at i1.)
    expect(net.core('d').status().joinCheck).not.toBe('ok');

    // Consequence: the 591-writes scenario this commit set out to fix.
    net.crash(L);
    net.filter = null;
    net.restart(x);
    net.run(3000);
    // x and d hold the same log; neither can win without the other's vote, and d must withhold it.
    expect(net.leaders()).toEqual([]); // today: x or d leads
    net.restart(L);
    net.run(1000);
    // Writes committed (and applied on L) before the wipe must be on whoever leads now.
    for (const l of net.leaders()) expect(net.appliedCommands(l), l).toEqual(expect.arrayContaining(W));
  });
});

/**
 * Three members; follower `f` is down while 20 entries commit, then leadership moves to `L` (a
 * transfer), which knows nothing of `f` and probes it at its last index. `f` is still down.
 */
function laggingFollowerUnderNewLeader(cfg: Partial<RaftConfig>) {
  const net = new CoreNet(['a', 'b', 'c'], cfg, 7);
  const L0 = net.elect();
  const [f, L] = ['a', 'b', 'c'].filter((id) => id !== L0) as [string, string];
  for (let i = 0; i < 3; i++) net.propose(L0, `x${i}`);
  net.run(100);
  const fLast = net.core(f).log.lastIndex();
  net.crash(f);
  for (let i = 0; i < 20; i++) net.propose(L0, `y${i}`);
  net.run(100);
  net.core(L0).transferLeadership(L);
  net.run(300);
  expect(net.leaders()).toEqual([L]);
  return { net, f, L, fLast };
}

describe('the leader-side lost-log check (a rejection at match from a shorter log)', () => {
  it('a duplicated/late rejection from an HONEST follower must not lower its match (nor cost it a snapshot)', () => {
    const { net, f, L, fLast } = laggingFollowerUnderNewLeader({ maxAppendEntries: 1 });
    net.restart(f);
    // Catch f up, but keep a copy of its first rejection (a probe at the leader's last index, from
    // f's shorter log): the simulator duplicates and reorders frames; TCP reconnects can reorder.
    let dup: { from: string; to: string; m: RaftMessage } | null = null;
    const last = net.core(L).log.lastIndex();
    let droppedLast = false;
    net.filter = (from, to, m) => {
      if (!dup && from === f && to === L && m.type === 'AppendResponse' && !m.success) dup = { from, to, m };
      // The frame carrying the last entry is lost once: f holds up to last - 1 for a while.
      if (
        dup &&
        !droppedLast &&
        from === L &&
        to === f &&
        m.type === 'AppendRequest' &&
        m.entries.some((e) => e.index === last)
      ) {
        droppedLast = true;
        return true;
      }
      return false;
    };
    const pf = () =>
      net
        .core(L)
        .status()
        .progress.find((p) => p.id === f);
    for (let t = 0; t < 200 && !(droppedLast && pf()?.match === last - 1); t += 5) net.run(5);
    expect(dup).not.toBeNull();
    const rej = (dup as unknown as { m: { matchIndex: number; lastLogIndex: number } }).m;
    expect(rej.lastLogIndex).toBe(fLast);
    expect(pf()?.match).toBe(rej.matchIndex);
    // The leader compacts: f is active, so what f lacks (entry `last`) is kept.
    const L_ = net.core(L);
    L_.createSnapshot(L_.applied, new Uint8Array([1]));
    expect(L_.log.snapshotIndex).toBeGreaterThan(fLast);
    net.deliver();
    const snaps = () => net.sent.filter((q) => q.to === f && q.m.type === 'InstallSnapshotRequest').length;
    const before = snaps();
    // The late copy of the first rejection arrives now (the simulator duplicates and reorders).
    L_.tick(net.now);
    L_.step(f, (dup as unknown as { m: RaftMessage }).m);
    // f holds every entry up to last - 1 and has acknowledged them; the leader now counts it at 4.
    expect(pf()?.match).toBe(last - 1); // FAILS: 4 (fLast)
    net.deliver();
    net.filter = null;
    net.run(200);
    expect(pf()?.match).toBe(last);
    expect(snaps() - before).toBe(0); // a snapshot shipped to a follower that lacks one entry
  });
});

describe('the lost-log check after a snapshot install', () => {
  it('an old rejection delivered after the snapshot completed must stay stale', () => {
    const { net, f, L, fLast } = laggingFollowerUnderNewLeader({});
    const pf = () =>
      net
        .core(L)
        .status()
        .progress.find((p) => p.id === f);
    // f is down: the new leader probes it at prev = N (its last index before its no-op).
    expect(pf()?.state).toBe('probe');
    const N = (pf()?.next as number) - 1;
    // f goes inactive (check-quorum period), then the leader snapshots at N and compacts to N.
    net.run(3000);
    const Lc = net.core(L);
    Lc.createSnapshot(N, new Uint8Array([1]));
    expect(Lc.log.snapshotIndex).toBe(N);
    net.deliver();

    let dup: RaftMessage | null = null;
    let droppedAfterSnap = false;
    net.filter = (from, to, m) => {
      if (!dup && from === f && to === L && m.type === 'AppendResponse' && !m.success) dup = m;
      // Delay (drop once) the first append after the snapshot, so the old rejection arrives while
      // the leader's match for f is the snapshot index.
      if (
        !droppedAfterSnap &&
        from === L &&
        to === f &&
        m.type === 'AppendRequest' &&
        m.prevLogIndex === N &&
        m.entries.length > 0 &&
        pf()?.match === N
      ) {
        droppedAfterSnap = true;
        return true;
      }
      return false;
    };
    const snaps = () =>
      net.sent.filter((q) => q.from === L && q.to === f && q.m.type === 'InstallSnapshotRequest').length;
    net.restart(f);
    for (let t = 0; t < 500 && !droppedAfterSnap; t += 5) net.run(5);
    expect(dup).not.toBeNull();
    const d = dup as unknown as { matchIndex: number; lastLogIndex: number; readSeq: number };
    expect(d.matchIndex).toBe(N);
    expect(d.lastLogIndex).toBe(fLast);
    expect(d.readSeq).toBeGreaterThan(0);
    expect(droppedAfterSnap).toBe(true);
    expect(pf()?.match).toBe(N); // raised by the snapshot response
    expect(net.core(f).log.snapshotIndex).toBe(N); // f holds the snapshot
    const before = snaps();
    expect(before).toBeGreaterThan(0);
    // The old rejection (a duplicate / reordered frame) arrives now.
    Lc.tick(net.now);
    Lc.step(f, dup as unknown as RaftMessage);
    // Stale: f installed the snapshot at N and has acknowledged it.
    expect(pf()?.match, 'honest follower match lowered by a stale rejection').toBe(N);
    net.deliver();
    expect(snaps() - before, 'a second full snapshot shipped to an honest follower').toBe(0);
  });
});

describe('a join target taken from an old frame', () => {
  it('is raised by the first append of a later term: a wiped voter whose first frame is an old-term append is not judged a newcomer', () => {
    const net = threeVotersAndD(21);
    const leader = net.elect();
    for (let i = 0; i < 3; i++) net.propose(leader, `p${i}`);
    const i1 = net
      .core(leader)
      .proposeConfChange({ changeType: 'add_learner', nodeId: 'd', address: 'd:1' }).index;
    net.run(200);
    const old = net.sent.find(
      (q) => q.to === 'd' && q.m.type === 'AppendRequest' && (q.m as AppendRequest).leaderCommit < i1,
    );
    expect(old).toBeDefined();
    net.core(leader).proposeConfChange({ changeType: 'promote_learner', nodeId: 'd', address: '' });
    net.run(500);
    // A new term, so the old frame is from an older term.
    const other = ['a', 'b', 'c'].find((x) => x !== leader) as string;
    net.core(leader).transferLeadership(other);
    net.run(500);
    for (let i = 0; i < 5; i++) net.propose(net.leaders()[0] as string, `w${i}`);
    net.run(100);
    expect(net.core(other).config().voters).toContain('d');
    net.crash('d');
    net.wipeAndJoin('d');
    // The old frame arrives first.
    const d = net.core('d');
    d.tick(net.now);
    d.step((old as { from: string }).from, (old as { m: RaftMessage }).m);
    expect(d.status().joinTarget).toBeLessThan(i1);
    net.run(500);
    // d is a voter of today's configuration whose log was lost.
    expect(d.status().joinCheck).not.toBe('ok');
  });
});
