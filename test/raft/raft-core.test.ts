import { describe, expect, it } from 'vitest';
import {
  createNodeRoleMachine,
  ELECTION_TIMEOUT_MAX_MS,
  ELECTION_TIMEOUT_MIN_MS,
  type LogEntry,
  type RaftMessage,
} from '../../generated/index.js';
import { crc32 } from '../../runtime/raft/crc32.js';
import { ProposalRejected } from '../../runtime/raft/errors.js';
import { createRaft } from '../../runtime/raft/raft.js';
import { CoreNet, rng } from './core-net.js';

const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
const ids3 = ['a', 'b', 'c'];
const ids5 = ['a', 'b', 'c', 'd', 'e'];

describe('§5.1 terms', () => {
  it('term_monotonic: across 5 elections terms strictly increase', () => {
    for (const seed of SEEDS) {
      const net = new CoreNet(ids3, {}, seed);
      const terms: number[] = [];
      for (let i = 0; i < 5; i++) {
        const l = net.elect();
        terms.push(net.core(l).term);
        net.crash(l);
        net.run(ELECTION_TIMEOUT_MAX_MS * 2);
        net.restart(l);
      }
      for (let i = 1; i < terms.length; i++) expect(terms[i]).toBeGreaterThan(terms[i - 1] as number);
    }
  });

  it('a member seeing a higher term becomes follower of that term', () => {
    const net = new CoreNet(ids3, {}, 3);
    const l = net.elect();
    const r = net.core(l);
    const t = r.term;
    r.step('x', {
      type: 'AppendResponse',
      term: t + 5,
      success: false,
      matchIndex: 0,
      conflictIndex: 0,
      conflictTerm: 0,
      lastLogIndex: 0,
      readSeq: 0,
    });
    expect(r.role).toBe('follower');
    expect(r.term).toBe(t + 5);
    expect(r.votedFor).toBeNull();
  });
});

describe('§5.2 leader election', () => {
  it('leader_election_basic: after the leader fails a new leader is elected within 300 ms of detection', () => {
    for (const seed of SEEDS) {
      const net = new CoreNet(ids3, {}, seed);
      const l = net.elect();
      net.crash(l);
      const crashedAt = net.now;
      let elected: string | undefined;
      while (!elected && net.now < crashedAt + 2000) {
        net.run(1, 1);
        elected = net.leaders().find((x) => x !== l);
      }
      expect(elected).toBeDefined();
      // detection = the first election timeout expiring (>= ELECTION_TIMEOUT_MIN_MS after the last heartbeat)
      expect(net.now - crashedAt).toBeLessThan(ELECTION_TIMEOUT_MAX_MS + 300);
    }
  });

  it('election_split_vote: 3 simultaneous candidates end with exactly one leader', () => {
    for (const seed of SEEDS) {
      const net = new CoreNet(ids3, { preVote: false }, seed);
      // every member times out at once: all become candidates of the same term
      for (const id of ids3) net.core(id).tick(ELECTION_TIMEOUT_MAX_MS);
      net.now = ELECTION_TIMEOUT_MAX_MS;
      expect(ids3.every((id) => net.core(id).role === 'candidate')).toBe(true);
      expect(new Set(ids3.map((id) => net.core(id).term)).size).toBe(1);
      net.deliver();
      net.run(3000);
      expect(net.leaders()).toHaveLength(1);
      const byTerm = new Map<number, number>();
      for (const id of ids3)
        if (net.core(id).role === 'leader')
          byTerm.set(net.core(id).term, (byTerm.get(net.core(id).term) ?? 0) + 1);
      for (const n of byTerm.values()) expect(n).toBe(1);
    }
  });

  it('randomized election timeouts fall in [min, max)', () => {
    const r = createRaft({ id: 'a', peers: ['a', 'b', 'c'], random: rng(9) });
    for (let i = 0; i < 200; i++) {
      const d = r.nextDeadline();
      expect(d - r.status().lastIndex).toBeGreaterThanOrEqual(0);
      r.tick(d - 1);
      expect(r.role).toBe('follower');
    }
    const r2 = createRaft({ id: 'a', peers: ['a', 'b', 'c'], random: () => 0.999999, now: 0 });
    expect(r2.nextDeadline()).toBe(ELECTION_TIMEOUT_MAX_MS - 1);
    const r3 = createRaft({ id: 'a', peers: ['a', 'b', 'c'], random: () => 0, now: 0 });
    expect(r3.nextDeadline()).toBe(ELECTION_TIMEOUT_MIN_MS);
  });

  it('pre_vote_prevents_disruption: a partitioned member rejoins without raising the term', () => {
    for (const seed of SEEDS) {
      const net = new CoreNet(ids3, { preVote: true }, seed);
      const l = net.elect();
      const f = ids3.find((x) => x !== l) as string;
      const term = net.core(l).term;
      net.isolate(f);
      net.run(3000);
      expect(net.core(f).term).toBe(term);
      expect(net.core(f).role).toBe('pre_candidate');
      net.heal();
      net.run(1000);
      expect(net.core(l).role).toBe('leader');
      expect(net.core(l).term).toBe(term);
    }
  });

  it('without pre-vote the same partition raises the term and disrupts the leader (calibration)', () => {
    let disrupted = 0;
    for (const seed of SEEDS) {
      const net = new CoreNet(ids3, { preVote: false, checkQuorum: false }, seed);
      const l = net.elect();
      const f = ids3.find((x) => x !== l) as string;
      const term = net.core(l).term;
      net.isolate(f);
      net.run(3000);
      net.heal();
      net.run(1000);
      if (net.core(l).term > term) disrupted++;
    }
    expect(disrupted).toBeGreaterThan(0);
  });

  it('check-quorum: a leader that cannot hear a majority steps down', () => {
    for (const seed of SEEDS.slice(0, 5)) {
      const net = new CoreNet(ids3, { checkQuorum: true }, seed);
      const l = net.elect();
      net.isolate(l);
      net.run(ELECTION_TIMEOUT_MIN_MS * 3);
      expect(net.core(l).role).not.toBe('leader');
    }
  });

  it('roles change only through the generated role machine (illegal events throw)', () => {
    const m = createNodeRoleMachine({});
    expect(() => m.fire('vote_quorum')).toThrow();
  });
});

describe('§5.3 log replication', () => {
  it('log_replication_basic: 10 entries reach every follower', () => {
    for (const seed of SEEDS) {
      const net = new CoreNet(ids3, {}, seed);
      const l = net.elect();
      for (let i = 0; i < 10; i++) net.propose(l, `cmd${i}`);
      net.run(200);
      for (const id of ids3)
        expect(net.appliedCommands(id)).toEqual(Array.from({ length: 10 }, (_, i) => `cmd${i}`));
    }
  });

  it('commit_on_majority: with 2 of 3 acknowledging the entry commits; with 1 of 3 it does not', () => {
    const net = new CoreNet(ids3, {}, 4);
    const l = net.elect();
    const [f1, f2] = ids3.filter((x) => x !== l) as [string, string];
    net.isolate(f2);
    net.cutLink(f1, f2);
    const { index } = net.propose(l, 'x');
    net.run(100);
    expect(net.core(l).commit).toBeGreaterThanOrEqual(index);
    expect(net.appliedCommands(f1)).toContain('x');
    // no agreement without a majority
    net.isolate(f1);
    const before = net.core(l).commit;
    const p = net.core(l).propose(new TextEncoder().encode('y'));
    net.run(100);
    expect(net.core(l).commit).toBe(before);
    expect(p.index).toBeGreaterThan(before);
  });

  it('consistency_check: a follower with a divergent log is repaired', () => {
    for (const seed of SEEDS) {
      const net = new CoreNet(ids3, {}, seed);
      const l1 = net.elect();
      // the leader appends entries only it has, then loses leadership
      net.isolate(l1);
      for (let i = 0; i < 5; i++) net.core(l1).propose(new TextEncoder().encode(`lost${i}`));
      net.deliver();
      net.run(ELECTION_TIMEOUT_MAX_MS * 3);
      const l2 = net.leaders().find((x) => x !== l1) as string;
      expect(l2).toBeDefined();
      for (let i = 0; i < 3; i++) net.propose(l2, `kept${i}`);
      net.heal();
      net.run(500);
      for (const id of ids3) {
        expect(net.appliedCommands(id)).toEqual(['kept0', 'kept1', 'kept2']);
        expect(net.core(id).log.lastIndex()).toBe(net.core(l2).log.lastIndex());
      }
    }
  });

  it('fast backup: conflict hints skip a whole divergent term per round trip', () => {
    const net = new CoreNet(ids5, {}, 7);
    const l1 = net.elect();
    const others = ids5.filter((x) => x !== l1);
    // l1 plus one follower accept 50 entries that never commit
    const buddy = others[0] as string;
    for (const o of others.slice(1)) net.isolate(o);
    net.heal();
    for (const o of others.slice(1)) {
      net.cutLink(l1, o);
      net.cutLink(o, l1);
      net.cutLink(buddy, o);
      net.cutLink(o, buddy);
    }
    for (let i = 0; i < 50; i++) net.core(l1).propose(new TextEncoder().encode(`u${i}`));
    net.run(50);
    net.isolate(l1);
    net.isolate(buddy);
    net.heal();
    net.isolate(l1);
    net.isolate(buddy);
    net.run(ELECTION_TIMEOUT_MAX_MS * 4);
    const l2 = net.leaders().find((x) => x !== l1 && x !== buddy) as string;
    expect(l2).toBeDefined();
    for (let i = 0; i < 50; i++) net.core(l2).propose(new TextEncoder().encode(`c${i}`));
    net.run(100);
    net.heal();
    net.sent.length = 0;
    net.run(500);
    const rejects = net.sent.filter(
      (s) =>
        s.to === l2 && s.m.type === 'AppendResponse' && !s.m.success && (s.from === l1 || s.from === buddy),
    );
    // one rejection per divergent term per follower (not one per entry)
    expect(rejects.length).toBeLessThanOrEqual(4);
    for (const id of ids5) expect(net.appliedCommands(id).filter((c) => c.startsWith('u'))).toEqual([]);
    expect(net.appliedCommands(buddy).filter((c) => c.startsWith('c'))).toHaveLength(50);
  });

  it('proposals on a follower are rejected with the leader identity; MAX_PENDING_PROPOSALS gives backpressure', () => {
    const net = new CoreNet(ids3, { maxPendingProposals: 4 }, 2);
    const l = net.elect();
    const f = ids3.find((x) => x !== l) as string;
    net.run(100);
    try {
      net.core(f).propose(new Uint8Array([1]));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ProposalRejected);
      expect((e as ProposalRejected).reason).toBe('not_leader');
      expect((e as ProposalRejected).leaderId).toBe(l);
    }
    net.isolate(l);
    for (let i = 0; i < 4; i++) net.core(l).propose(new Uint8Array([i]));
    expect(() => net.core(l).propose(new Uint8Array([9]))).toThrow(/pending/);
  });

  it('pipelining respects the in-flight window and byte budget', () => {
    const net = new CoreNet(ids3, { maxInflight: 3, maxAppendEntries: 1 }, 5);
    const l = net.elect();
    const f = ids3.find((x) => x !== l) as string;
    net.run(100);
    // hold the follower's acknowledgements: the leader may have at most 3 appends in flight
    net.filter = (from, _to, m) => from === f && m.type === 'AppendResponse';
    for (let i = 0; i < 10; i++) net.core(l).propose(new Uint8Array([i]));
    net.sent.length = 0;
    net.deliver();
    const withEntries = net.sent.filter(
      (s) => s.from === l && s.to === f && s.m.type === 'AppendRequest' && s.m.entries.length > 0,
    );
    expect(withEntries.length).toBe(3);
    const p = net
      .core(l)
      .status()
      .progress.find((x) => x.id === f);
    expect(p?.inflight).toBe(3);
    net.filter = null;
    net.run(300);
    expect(net.core(f).log.lastIndex()).toBe(net.core(l).log.lastIndex());
  });

  it('in-flight bytes are bounded, and proposals made together are batched into one append', () => {
    const net = new CoreNet(ids3, { maxInflightBytes: 10, maxAppendEntries: 1 }, 15);
    const l = net.elect();
    const f = ids3.find((x) => x !== l) as string;
    net.run(100);
    net.filter = (from, _to, m) => from === f && m.type === 'AppendResponse';
    for (let i = 0; i < 6; i++) net.core(l).propose(new Uint8Array(5).fill(i));
    net.sent.length = 0;
    net.deliver();
    const toF = net.sent.filter(
      (s) => s.from === l && s.to === f && s.m.type === 'AppendRequest' && s.m.entries.length > 0,
    );
    expect(toF.length).toBe(2); // 2 x 5 bytes fill the 10-byte budget
    expect(
      net
        .core(l)
        .status()
        .progress.find((x) => x.id === f)?.inflightBytes,
    ).toBe(10);
    const batched = new CoreNet(ids3, {}, 16);
    const bl = batched.elect();
    batched.run(100);
    batched.sent.length = 0;
    for (let i = 0; i < 10; i++) batched.core(bl).propose(new Uint8Array([i]));
    batched.deliver();
    const appends = batched.sent.filter(
      (s) => s.from === bl && s.m.type === 'AppendRequest' && s.m.entries.length > 0,
    );
    expect(appends.length).toBe(2); // one batch of 10 entries per follower
    for (const a of appends) expect(a.m.type === 'AppendRequest' && a.m.entries.length).toBe(10);
  });

  it('a peer that never answers is marked unreachable after MAX_RETRIES_PER_APPEND probes', () => {
    const net = new CoreNet(ids3, { maxRetriesPerAppend: 3, checkQuorum: false }, 6);
    const l = net.elect();
    const f = ids3.find((x) => x !== l) as string;
    net.crash(f);
    net.core(l).propose(new Uint8Array([1]));
    net.run(2000);
    const p = net
      .core(l)
      .status()
      .progress.find((x) => x.id === f);
    expect(p?.unreachable).toBe(true);
    expect(p?.state).toBe('probe');
    net.restart(f);
    net.run(300);
    expect(
      net
        .core(l)
        .status()
        .progress.find((x) => x.id === f)?.unreachable,
    ).toBe(false);
  });
});

describe('§5.4 safety', () => {
  it('up-to-date rule: a member does not vote for a candidate with a less complete log', () => {
    const r = createRaft({ id: 'a', peers: ['a', 'b', 'c'], random: rng(1) });
    r.step('b', {
      type: 'AppendRequest',
      term: 2,
      leaderId: 'b',
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [entry(1, 2), entry(2, 2)],
      leaderCommit: 0,
      readSeq: 0,
    });
    drain(r);
    r.tick(10_000);
    const votes = (cand: { lastLogIndex: number; lastLogTerm: number }) => {
      r.step('c', {
        type: 'VoteRequest',
        term: 9,
        candidateId: 'c',
        isPreVote: false,
        leadershipTransfer: true,
        ...cand,
      });
      const m = drain(r).find((x) => x.type === 'VoteResponse');
      return m?.type === 'VoteResponse' && m.granted;
    };
    expect(votes({ lastLogIndex: 5, lastLogTerm: 1 })).toBe(false); // older last term
    expect(votes({ lastLogIndex: 1, lastLogTerm: 2 })).toBe(false); // same term, shorter
    expect(votes({ lastLogIndex: 2, lastLogTerm: 2 })).toBe(true);
  });

  it('votes at most once per term', () => {
    const r = createRaft({ id: 'a', peers: ['a', 'b', 'c'], random: rng(1), checkQuorum: false });
    const ask = (who: string) => {
      r.step(who, {
        type: 'VoteRequest',
        term: 3,
        candidateId: who,
        lastLogIndex: 0,
        lastLogTerm: 0,
        isPreVote: false,
        leadershipTransfer: false,
      });
      const m = drain(r).find((x) => x.type === 'VoteResponse');
      return m?.type === 'VoteResponse' && m.granted;
    };
    expect(ask('b')).toBe(true);
    expect(ask('c')).toBe(false);
    expect(ask('b')).toBe(true); // a retry from the same candidate
    expect(r.hardState().votedFor).toBe('b');
  });

  it('Figure 8: a leader never commits an earlier-term entry by counting replicas', () => {
    // Leader 'a' of term 4 holds index 2 from term 2 replicated on a majority, but not yet its own entry.
    const a = createRaft({
      id: 'a',
      peers: ids5,
      random: rng(1),
      restored: {
        hardState: { term: 3, votedFor: 'a', commit: 1 },
        entries: [entry(1, 1), entry(2, 2)],
        snapshot: null,
      },
      maxAppendEntries: 1,
    });
    a.tick(10_000);
    a.tick(10_000);
    for (const v of ['b', 'c']) a.step(v, { type: 'VoteResponse', term: 4, granted: true, isPreVote: true });
    for (const v of ['b', 'c']) a.step(v, { type: 'VoteResponse', term: 4, granted: true, isPreVote: false });
    expect(a.role).toBe('leader');
    expect(a.term).toBe(4);
    // The leader persists its no-op (index 3): it counts itself toward commit only once durable.
    a.advance(a.ready());
    for (const v of ['b', 'c'])
      a.step(v, {
        type: 'AppendResponse',
        term: 4,
        success: true,
        matchIndex: 2,
        conflictIndex: 0,
        conflictTerm: 0,
        lastLogIndex: 2,
        readSeq: 0,
      });
    expect(a.commit).toBe(1); // index 2 (term 2) is on 3 of 5 but is not committed by counting
    for (const v of ['b', 'c'])
      a.step(v, {
        type: 'AppendResponse',
        term: 4,
        success: true,
        matchIndex: 3,
        conflictIndex: 0,
        conflictTerm: 0,
        lastLogIndex: 3,
        readSeq: 0,
      });
    expect(a.commit).toBe(3); // the no-op of term 4 commits, and index 2 with it
    const unsafe = createRaft({
      id: 'a',
      peers: ids5,
      random: rng(1),
      restored: {
        hardState: { term: 3, votedFor: 'a', commit: 1 },
        entries: [entry(1, 1), entry(2, 2)],
        snapshot: null,
      },
      unsafeCommitPreviousTerm: true,
    });
    unsafe.tick(10_000);
    unsafe.tick(10_000);
    for (const v of ['b', 'c'])
      unsafe.step(v, { type: 'VoteResponse', term: 4, granted: true, isPreVote: true });
    for (const v of ['b', 'c'])
      unsafe.step(v, { type: 'VoteResponse', term: 4, granted: true, isPreVote: false });
    for (const v of ['b', 'c'])
      unsafe.step(v, {
        type: 'AppendResponse',
        term: 4,
        success: true,
        matchIndex: 2,
        conflictIndex: 0,
        conflictTerm: 0,
        lastLogIndex: 2,
        readSeq: 0,
      });
    expect(unsafe.commit).toBe(2);
  });

  it('hard state is handed out (to persist) before the messages that depend on it', () => {
    const r = createRaft({ id: 'a', peers: ['a', 'b', 'c'], random: rng(1), checkQuorum: false });
    r.step('b', {
      type: 'VoteRequest',
      term: 3,
      candidateId: 'b',
      lastLogIndex: 0,
      lastLogTerm: 0,
      isPreVote: false,
      leadershipTransfer: false,
    });
    const rd = r.ready();
    expect(rd.hardState).toEqual({ term: 3, votedFor: 'b', commit: 0 });
    expect(rd.messages.some((m) => m.message.type === 'VoteResponse')).toBe(true);
    r.advance(rd);
    expect(r.hasReady()).toBe(false);
  });
});

describe('§7 snapshots', () => {
  it('snapshot_compaction: after 1001 entries a snapshot is taken and old entries are dropped', () => {
    const net = new CoreNet(ids3, {}, 8);
    const l = net.elect();
    for (let i = 0; i < 1001; i++) {
      net.core(l).propose(new TextEncoder().encode(`e${i}`));
      if (i % 50 === 0) net.deliver();
    }
    net.run(200);
    for (const id of ids3) {
      const r = net.core(id);
      expect(r.applied).toBeGreaterThanOrEqual(1002);
      const { meta, compactedTo } = r.createSnapshot(1000, new TextEncoder().encode(`state@1000`));
      expect(meta.index).toBe(1000);
      expect(compactedTo).toBe(1000);
      expect(r.log.firstIndex()).toBe(1001);
      expect(r.log.term(500)).toBeUndefined();
    }
  });

  it('a lagging follower gets InstallSnapshot in checksummed chunks that resume after a lost chunk', () => {
    const net = new CoreNet(ids3, { snapshotChunkBytes: 100 }, 9);
    const l = net.elect();
    const f = ids3.find((x) => x !== l) as string;
    net.crash(f);
    for (let i = 0; i < 40; i++) net.propose(l, `e${i}`);
    net.run(400); // long enough for the leader to stop counting f as recently active
    const leader = net.core(l);
    const data = new Uint8Array(1050).map((_, i) => i % 251);
    leader.createSnapshot(leader.applied, data);
    for (let i = 0; i < 3; i++) net.propose(l, `after${i}`);
    let dropped = 0;
    net.filter = (_from, to, m) => {
      if (to === f && m.type === 'InstallSnapshotRequest' && m.offset === 300 && dropped === 0) {
        dropped++;
        return true;
      }
      return false;
    };
    net.sent.length = 0;
    net.restart(f);
    net.run(1000);
    expect(dropped).toBe(1);
    const chunks = net.sent
      .filter((s) => s.m.type === 'InstallSnapshotRequest' && s.to === f)
      .map((s) => s.m as Extract<RaftMessage, { type: 'InstallSnapshotRequest' }>);
    for (const c of chunks) expect(c.chunkCrc).toBe(crc32(c.data));
    const offsets = new Set(chunks.map((c) => c.offset));
    expect([...offsets].sort((a, b) => a - b)).toEqual([
      0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000,
    ]);
    // resumed at the lost chunk, not from the start: offset 0 sent only a few times
    expect(chunks.filter((c) => c.offset === 0).length).toBeLessThan(3);
    expect(net.stored.get(f)?.snapshot?.data).toEqual(data);
    expect(net.appliedCommands(f)).toEqual(['after0', 'after1', 'after2']);
    expect(net.core(f).log.lastIndex()).toBe(leader.log.lastIndex());
  });

  it('a corrupt chunk is refused and re-sent', () => {
    const net = new CoreNet(ids3, { snapshotChunkBytes: 64 }, 10);
    const l = net.elect();
    const f = ids3.find((x) => x !== l) as string;
    net.crash(f);
    for (let i = 0; i < 5; i++) net.propose(l, `e${i}`);
    net.run(400);
    net.core(l).createSnapshot(net.core(l).applied, new Uint8Array(300).fill(7));
    let corrupted = false;
    net.filter = (_from, to, m) => {
      if (!corrupted && to === f && m.type === 'InstallSnapshotRequest' && m.offset === 64) {
        corrupted = true;
        net.queue.unshift({ from: l, to: f, m: { ...m, data: new Uint8Array(m.data.length).fill(1) } });
        return true;
      }
      return false;
    };
    net.restart(f);
    net.run(1000);
    expect(corrupted).toBe(true);
    expect(net.stored.get(f)?.snapshot?.data).toEqual(new Uint8Array(300).fill(7));
  });
});

describe('reads', () => {
  it('ReadIndex is refused before the leader commits in its term, then confirmed by a quorum', () => {
    const net = new CoreNet(ids3, {}, 11);
    const l = net.elect();
    const r = net.core(l);
    r.readIndex('r1');
    net.deliver();
    expect(net.readStates.get(l)?.map((x) => x.ctx)).toEqual(['r1']);
    net.isolate(l);
    r.readIndex('r2');
    net.run(20);
    expect(net.readStates.get(l)?.map((x) => x.ctx)).toEqual(['r1']); // no quorum: not served
    const fresh = createRaft({
      id: 'z',
      peers: ['z', 'y', 'x'],
      random: rng(2),
      restored: { hardState: { term: 5, votedFor: 'z', commit: 0 }, entries: [], snapshot: null },
    });
    fresh.tick(1000);
    fresh.tick(1000);
    for (const v of ['y']) fresh.step(v, { type: 'VoteResponse', term: 6, granted: true, isPreVote: true });
    fresh.step('y', { type: 'VoteResponse', term: 6, granted: true, isPreVote: false });
    expect(fresh.role).toBe('leader');
    expect(() => fresh.readIndex('x')).toThrow(ProposalRejected);
  });

  it('lease reads are served locally while the lease runs and fall back to ReadIndex after', () => {
    const net = new CoreNet(ids3, {}, 12);
    const l = net.elect();
    net.run(100);
    const r = net.core(l);
    net.sent.length = 0;
    r.readIndex('lease1', { lease: true });
    expect(r.leaseValid()).toBe(true);
    net.deliver();
    expect(net.readStates.get(l)?.at(-1)?.ctx).toBe('lease1');
    net.isolate(l);
    net.run(ELECTION_TIMEOUT_MIN_MS - 20 + 5);
    expect(r.leaseValid()).toBe(false);
    if (r.role === 'leader') {
      const served = net.readStates.get(l)?.length ?? 0;
      r.readIndex('lease2', { lease: true });
      net.deliver();
      expect(net.readStates.get(l)?.length ?? 0).toBe(served); // fell back to ReadIndex: needs a quorum
    }
  });
});

describe('leadership transfer', () => {
  it('TimeoutNow hands leadership to a caught-up voter without pre-vote', () => {
    for (const seed of SEEDS.slice(0, 5)) {
      const net = new CoreNet(ids3, {}, seed);
      const l = net.elect();
      const t = ids3.find((x) => x !== l) as string;
      net.propose(l, 'x');
      net.run(100);
      net.core(l).transferLeadership(t);
      net.run(100);
      expect(net.core(t).role).toBe('leader');
      expect(net.core(l).role).toBe('follower');
      expect(net.sent.some((s) => s.m.type === 'TimeoutNow' && s.to === t)).toBe(true);
    }
  });
});

describe('§6 membership', () => {
  it('learners catch up without voting, are promoted only when caught up, through joint consensus', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const net = new CoreNet(
      ids,
      { initialConfig: { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [], addresses: [] } },
      13,
    );
    const l = net.elect();
    for (let i = 0; i < 5; i++) net.propose(l, `e${i}`);
    net.crash('d');
    net.core(l).proposeConfChange({ changeType: 'add_learner', nodeId: 'd', address: 'd:1' });
    net.run(100);
    expect(net.core(l).config().learners).toEqual(['d']);
    expect(() =>
      net.core(l).proposeConfChange({ changeType: 'promote_learner', nodeId: 'd', address: '' }),
    ).toThrow(/caught up/);
    net.restart('d');
    net.run(300);
    expect(net.core('d').role).toBe('follower');
    expect(net.appliedCommands('d')).toHaveLength(5);
    net.core(l).proposeConfChange({ changeType: 'promote_learner', nodeId: 'd', address: '' });
    expect(net.core(l).config().votersOutgoing).toEqual(['a', 'b', 'c']);
    net.run(300);
    const cfg = net.core(l).config();
    expect(cfg.voters).toEqual(['a', 'b', 'c', 'd']);
    expect(cfg.votersOutgoing).toEqual([]);
  });

  it('a removed leader steps down; a change leaving no live quorum is refused; voters are capped', () => {
    const net = new CoreNet(ids3, {}, 14);
    const l = net.elect();
    net.run(100);
    net.core(l).proposeConfChange({ changeType: 'remove_node', nodeId: l, address: '' });
    net.run(500);
    expect(net.core(l).role).toBe('follower');
    const l2 = net.leaders()[0] as string;
    expect(l2).toBeDefined();
    expect(net.core(l2).config().voters).not.toContain(l);
    const other = net
      .core(l2)
      .config()
      .voters.find((x) => x !== l2) as string;
    net.crash(other);
    net.run(ELECTION_TIMEOUT_MIN_MS + 10);
    // adding a voter to {l2, dead other} needs 2 live of 3: refused
    expect(() =>
      net.core(l2).proposeConfChange({ changeType: 'add_voter', nodeId: 'z', address: '' }),
    ).toThrow(ProposalRejected);
    const big = new CoreNet(['a'], { maxClusterSize: 1 }, 1);
    const bl = big.elect();
    expect(() =>
      big.core(bl).proposeConfChange({ changeType: 'add_voter', nodeId: 'q', address: '' }),
    ).toThrow(/at most 1/);
  });
});

function entry(index: number, term: number): LogEntry {
  return { index, term, entryType: 'command', command: new Uint8Array([index]), timestamp: 0 };
}

function drain(r: ReturnType<typeof createRaft>): RaftMessage[] {
  const out: RaftMessage[] = [];
  while (r.hasReady()) {
    const rd = r.ready();
    for (const m of rd.messages) out.push(m.message);
    r.advance(rd);
  }
  return out;
}
