import type { HardState, LogEntry, NodeRole } from '../../generated/index.js';
import type { Raft } from '../../runtime/raft/raft.js';

/** One broken invariant, with the virtual time it was detected at. */
export interface Violation {
  invariant:
    | 'election_safety'
    | 'leader_append_only'
    | 'log_matching'
    | 'leader_completeness'
    | 'state_machine_safety'
    | 'acknowledged_write_lost'
    | 'term_monotonic'
    | 'commit_monotonic'
    | 'node_error';
  at: number;
  detail: string;
}

function hashEntry(e: LogEntry): string {
  let h = 2166136261;
  const c = e.command;
  for (let i = 0; i < c.length; i++) {
    h ^= c[i] as number;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return `${e.entryType}:${c.length}:${h}`;
}

interface NodeTrack {
  term: number;
  commit: number;
  durableTerm: number;
  durableCommit: number;
  leaderTerm: number;
  lastPersisted: number;
}

/**
 * Continuous Raft invariant checks over a simulated cluster (Raft paper Figure 3 plus durability):
 * election safety, leader append-only, log matching, leader completeness, state machine safety,
 * acknowledged writes never lost, terms and commit indexes never going backwards on a member
 * (within an incarnation, and across restarts for what was durable). Fed by node observers.
 */
export class InvariantChecker {
  readonly violations: Violation[] = [];
  /** index -> (term, content hash) of the first entry any member applied there. */
  readonly committed = new Map<number, { term: number; hash: string; by: string; commitTermBound: number }>();
  /** Highest term any leader was seen in so far (an upper bound on the term of any commit made). */
  private maxLeaderTerm = 0;
  private readonly leaders = new Map<number, string>();
  private readonly tracks = new Map<string, NodeTrack>();
  /** Leader elections observed: (virtual time, id, term). */
  readonly elections: { at: number; id: string; term: number }[] = [];

  constructor(
    private readonly now: () => number,
    private readonly raftOf: (id: string) => Raft | null,
  ) {}

  private fail(invariant: Violation['invariant'], detail: string): void {
    if (this.violations.length < 50) this.violations.push({ invariant, at: this.now(), detail });
  }

  private track(id: string): NodeTrack {
    let t = this.tracks.get(id);
    if (!t) {
      t = { term: 0, commit: 0, durableTerm: 0, durableCommit: 0, leaderTerm: -1, lastPersisted: 0 };
      this.tracks.set(id, t);
    }
    return t;
  }

  /** A new incarnation of `id` is booting: its volatile (in-memory) view starts over. */
  beginIncarnation(id: string): void {
    const t = this.track(id);
    t.term = 0;
    t.commit = 0;
    t.leaderTerm = -1;
  }

  /** A member restarted: its volatile view restarts from what it recovered. */
  onRestart(id: string, raft: Raft): void {
    const t = this.track(id);
    if (raft.term < t.durableTerm)
      this.fail('term_monotonic', `${id} restarted at term ${raft.term} < durable ${t.durableTerm}`);
    if (raft.commit < t.durableCommit)
      this.fail('commit_monotonic', `${id} restarted at commit ${raft.commit} < durable ${t.durableCommit}`);
    t.term = Math.max(t.term, raft.term);
    t.commit = Math.max(t.commit, raft.commit);
    t.lastPersisted = raft.log.lastIndex();
  }

  onRoleChange(id: string, ev: { from: NodeRole; to: NodeRole; term: number }): void {
    const t = this.track(id);
    if (ev.to !== 'leader') {
      t.leaderTerm = -1;
      return;
    }
    const prev = this.leaders.get(ev.term);
    if (prev !== undefined && prev !== id)
      this.fail('election_safety', `term ${ev.term}: leaders ${prev} and ${id}`);
    this.leaders.set(ev.term, id);
    if (ev.term > this.maxLeaderTerm) this.maxLeaderTerm = ev.term;
    this.elections.push({ at: this.now(), id, term: ev.term });
    t.leaderTerm = ev.term;
    const raft = this.raftOf(id);
    if (!raft) return;
    t.lastPersisted = raft.log.lastIndex();
    const last = raft.log.lastIndex();
    for (const [index, c] of this.committed) {
      if (index <= raft.log.snapshotIndex) continue;
      // Leader completeness covers entries committed in EARLIER terms only. A member can win an
      // old term late (e.g. it was paused holding granted votes), after a later term committed.
      if (c.commitTermBound >= ev.term) continue;
      if (index > last) {
        this.fail(
          'leader_completeness',
          `${id} leader of term ${ev.term} lacks committed index ${index} (last ${last})`,
        );
        break;
      }
      if (raft.log.term(index) !== c.term) {
        this.fail(
          'leader_completeness',
          `${id} leader of term ${ev.term} has term ${raft.log.term(index)} at committed ${index}/${c.term}`,
        );
        break;
      }
    }
  }

  onPersisted(id: string, hs: HardState | undefined, entries: readonly LogEntry[]): void {
    const t = this.track(id);
    if (hs) {
      t.durableTerm = Math.max(t.durableTerm, hs.term);
      t.durableCommit = Math.max(t.durableCommit, hs.commit);
    }
    if (entries.length > 0) {
      const first = (entries[0] as LogEntry).index;
      const raft = this.raftOf(id);
      if (
        t.leaderTerm >= 0 &&
        raft &&
        raft.role === 'leader' &&
        raft.term === t.leaderTerm &&
        first <= t.lastPersisted
      ) {
        this.fail(
          'leader_append_only',
          `${id} (leader, term ${t.leaderTerm}) rewrote from ${first} (had ${t.lastPersisted})`,
        );
      }
      t.lastPersisted = (entries[entries.length - 1] as LogEntry).index;
    }
  }

  onState(id: string, s: { term: number; commit: number }): void {
    const t = this.track(id);
    if (s.term < t.term) this.fail('term_monotonic', `${id}: term ${t.term} -> ${s.term}`);
    if (s.commit < t.commit) this.fail('commit_monotonic', `${id}: commit ${t.commit} -> ${s.commit}`);
    t.term = Math.max(t.term, s.term);
    t.commit = Math.max(t.commit, s.commit);
  }

  onApply(id: string, e: LogEntry): void {
    const h = hashEntry(e);
    const c = this.committed.get(e.index);
    if (!c)
      this.committed.set(e.index, { term: e.term, hash: h, by: id, commitTermBound: this.maxLeaderTerm });
    else if (c.term !== e.term || c.hash !== h) {
      this.fail(
        'state_machine_safety',
        `index ${e.index}: ${c.by} applied term ${c.term}, ${id} applied term ${e.term}`,
      );
    }
  }

  onError(id: string, err: unknown): void {
    this.fail('node_error', `${id}: ${err instanceof Error ? err.message : String(err)}`);
  }

  /** An acknowledged proposal (index, content) must be what is committed at that index. */
  checkAcknowledged(index: number, term: number): void {
    const c = this.committed.get(index);
    if (c && c.term !== term)
      this.fail('acknowledged_write_lost', `acknowledged index ${index}/${term} holds term ${c.term}`);
  }

  /**
   * Log matching over the live members: if two logs hold an entry with the same index and term,
   * they are identical up to it (checked on a window of `window` entries below the highest such
   * index).
   */
  checkLogMatching(rafts: readonly { id: string; raft: Raft }[], window = 64): void {
    for (let a = 0; a < rafts.length; a++) {
      for (let b = a + 1; b < rafts.length; b++) {
        const x = (rafts[a] as { id: string; raft: Raft }).raft.log;
        const y = (rafts[b] as { id: string; raft: Raft }).raft.log;
        const lo = Math.max(x.snapshotIndex, y.snapshotIndex) + 1;
        let i = Math.min(x.lastIndex(), y.lastIndex());
        while (i >= lo && x.term(i) !== y.term(i)) i--;
        for (let k = i; k >= lo && k > i - window; k--) {
          const ex = x.entry(k) as LogEntry;
          const ey = y.entry(k) as LogEntry;
          if (ex.term !== ey.term || hashEntry(ex) !== hashEntry(ey)) {
            this.fail('log_matching', `${rafts[a]?.id}/${rafts[b]?.id} match at ${i} but differ at ${k}`);
            return;
          }
        }
      }
    }
  }
}
