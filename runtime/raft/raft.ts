import {
  type AppendRequest,
  type AppendResponse,
  CLOCK_DRIFT_BOUND_MS,
  type ClusterConfig,
  type ConfChange,
  createNodeRoleMachine,
  decodeClusterConfig,
  ELECTION_TIMEOUT_MAX_MS,
  ELECTION_TIMEOUT_MIN_MS,
  encodeClusterConfig,
  type HardState,
  HEARTBEAT_INTERVAL_MS,
  type InstallSnapshotRequest,
  type InstallSnapshotResponse,
  type LogEntry,
  type LogEntryType,
  MAX_APPEND_BYTES,
  MAX_CLUSTER_SIZE,
  MAX_INFLIGHT_APPENDS,
  MAX_LOG_ENTRIES,
  MAX_PENDING_PROPOSALS,
  MAX_RETRIES_PER_APPEND,
  type NodeRole,
  type NodeRoleMachineEvent,
  type RaftMessage,
  SNAPSHOT_CHUNK_BYTES,
  type SnapshotMeta,
  type TimeoutNow,
  type VoteRequest,
  type VoteResponse,
} from '../../generated/index.js';
import { crc32 } from './crc32.js';
import { ProposalRejected, RaftInvariantError } from './errors.js';
import { RaftLog } from './log.js';
import { allMembers, allVoters, isVoter, quorumValue, voteResult } from './quorum.js';
import type {
  JoinCheck,
  Outbound,
  ProgressView,
  RaftStatus,
  ReadState,
  Ready,
  RestoredState,
  Snapshot,
} from './types.js';

/** Configuration of the pure core. Defaults come from the spec's constants. */
export interface RaftConfig {
  /** This member's id. */
  id: string;
  /** Initial voters (including `id`) when nothing was restored and no `initialConfig` is given. */
  peers?: readonly string[];
  /** Initial membership (takes precedence over `peers`). */
  initialConfig?: ClusterConfig;
  /**
   * This member started on an empty data dir to join a running cluster (or restarted before that
   * join was confirmed). Raft's safety rests on every voter keeping its log and vote; a voter whose
   * data dir was emptied has lost both, and commits that counted its acknowledgements may now live
   * on a minority. So it grants no votes and never campaigns until it has judged itself: once its
   * log reaches the commit index of the first append it received (everything committed when it
   * came back) and its configuration names it, it is a newcomer if it is a learner or an incoming
   * voter of a joint configuration ('ok'), and a voter whose log was lost otherwise ('lost_log':
   * it never votes until it is removed and added again). See `JoinCheck`.
   */
  freshJoin?: boolean;
  /**
   * This member started on an empty data dir with the cluster's static member list, as for a
   * first start, not to join (or restarted before it caught up). The same loss as `freshJoin`'s
   * threatens when the dir of a voter of a running cluster was emptied, but a member of a cluster
   * that is forming has nothing to catch up to and must vote at once. So until its log reaches the
   * commit index of the first append it received ('pending', then 'ok' with no other judgement),
   * it grants votes only to candidates whose log is empty (a cluster still forming: nothing can have
   * been committed that such a candidate lacks, unless a second member lost its log as well or
   * never received one), and it campaigns only while its own log is empty (its own vote is the one
   * it may have lost); both only until it hears of commits (a target above 0, a snapshot offered).
   * The target is kept across restarts as `freshJoin`'s (`joinTarget`).
   */
  freshBootstrap?: boolean;
  /**
   * With `freshJoin` or `freshBootstrap`: the target found in an earlier run (see `status().joinTarget`, which the
   * caller MUST make durable before the member acknowledges anything). A restarted member must
   * not take a new one: a heartbeat's commit index is capped at what the leader knows the member
   * holds, which after a restart is its new progress, not what was committed when it came back.
   */
  joinTarget?: number;
  /**
   * With `freshBootstrap` and `joinTarget`: the term of the append it came from (see
   * `status().joinTargetTerm`; made durable with the target). Unknown (0), votes are judged by the
   * target's index alone.
   */
  joinTargetTerm?: number;
  /** Source of randomness in [0, 1) (election timeouts). The core has no other. */
  random: () => number;
  /** Monotonic time at creation (ms); later time arrives through `tick(now)`. */
  now?: number;
  electionTimeoutMin?: number;
  electionTimeoutMax?: number;
  heartbeatInterval?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxPendingProposals?: number;
  /** In-flight append messages per follower (pipelining window). */
  maxInflight?: number;
  /** In-flight bytes of entry payloads per follower. */
  maxInflightBytes?: number;
  /** Payload bytes per append message (at least one entry is always sent). */
  maxAppendBytes?: number;
  /** Entries per append message. */
  maxAppendEntries?: number;
  maxRetriesPerAppend?: number;
  snapshotChunkBytes?: number;
  clockDriftBound?: number;
  /** Retained log entries above the snapshot never exceed this after a compaction. */
  maxLogEntries?: number;
  /**
   * How long (ms) a leader may hold back telling followers a new commit index when no append goes
   * out meanwhile (default DEFAULT_COMMIT_NOTIFY_DELAY_MS; 0 = at once, like etcd's bcastAppend).
   * The next append carries it anyway, so under load this saves a message pair per commit, and on
   * a small machine the followers' wake-ups no longer compete with the leader's reply to the client.
   */
  commitNotifyDelay?: number;
  maxClusterSize?: number;
  restored?: RestoredState;
  /** Observes every role transition (for tracing); must not call back into the core. */
  onRoleChange?: (t: { from: NodeRole; to: NodeRole; event: string; term: number }) => void;
  /** TEST ONLY, breaks safety: commit earlier-term entries by counting replicas (Figure 8). */
  unsafeCommitPreviousTerm?: boolean;
  /**
   * TEST ONLY, breaks safety: hand out hard states without the vote (votes are not persisted),
   * and keep no vote hold after a restart.
   */
  unsafeForgetVote?: boolean;
}

interface SnapshotTransfer {
  id: number;
  snap: Snapshot;
  offset: number;
}

interface Progress {
  id: string;
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  /** Probe mode: an append is outstanding; wait for an answer or the next heartbeat. */
  paused: boolean;
  retries: number;
  unreachable: boolean;
  inflight: { index: number; bytes: number }[];
  inflightBytes: number;
  recentActive: boolean;
  lastHeard: number;
  /** When match last advanced (or the pipeline last started from empty): stall detection. */
  lastProgressAt: number;
  /**
   * The leader's read_seq when match last advanced: only a rejection of an append sent after that
   * (a larger read_seq) can prove that the follower lost entries it acknowledged.
   */
  matchSeq: number;
  ackedSeq: number;
  ackedTime: number;
  snapshot: SnapshotTransfer | null;
  /** Highest commit index sent to this follower (in any append or heartbeat). */
  sentCommit: number;
}

interface PendingRead {
  seq: number;
  index: number;
  ctx: string;
}

interface IncomingSnapshot {
  term: number;
  id: number;
  leader: string;
  meta: SnapshotMeta;
  total: number;
  chunks: Uint8Array[];
  received: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Default `commitNotifyDelay`: long enough for the leader to answer the client before followers
 * wake up to learn the commit index, far below the heartbeat interval.
 */
export const DEFAULT_COMMIT_NOTIFY_DELAY_MS = 2;

function cloneConfig(c: ClusterConfig): ClusterConfig {
  return {
    voters: [...c.voters],
    votersOutgoing: [...c.votersOutgoing],
    learners: [...c.learners],
    addresses: c.addresses.map((a) => ({ ...a })),
  };
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.votedFor === b.votedFor && a.commit === b.commit;
}

/**
 * The pure Raft state machine (etcd-io/raft shape). It performs no I/O and reads no clock: time
 * arrives through `tick(now)`, randomness through `config.random`, messages through `step`, and all
 * output leaves through `ready()`. Roles change only through the generated NodeRoleMachine.
 */
export class Raft {
  readonly id: string;
  private readonly cfg: Required<
    Omit<
      RaftConfig,
      | 'peers'
      | 'initialConfig'
      | 'freshJoin'
      | 'freshBootstrap'
      | 'joinTarget'
      | 'joinTargetTerm'
      | 'restored'
      | 'now'
      | 'onRoleChange'
      | 'id'
      | 'random'
    >
  >;
  private readonly random: () => number;
  private readonly onRoleChange: RaftConfig['onRoleChange'];
  private readonly roleMachine: ReturnType<typeof createNodeRoleMachine>;

  // persistent state (mirrored by HardState + log)
  term = 0;
  votedFor: string | null = null;
  readonly log: RaftLog;
  commit = 0;
  applied = 0;

  // volatile
  leaderId: string | null = null;
  private now: number;
  private electionDeadline = 0;
  private heartbeatDeadline = 0;
  /** When followers not yet told the commit index get a heartbeat carrying it (leader only). */
  private commitNotifyDeadline = Number.POSITIVE_INFINITY;
  private checkQuorumDeadline = 0;
  private lastLeaderContact = Number.NEGATIVE_INFINITY;
  /**
   * The promise behind a leader's lease: having heard from a leader at time t, this member grants
   * no vote or pre-vote (other than for a leadership transfer) before t + electionTimeoutMin, in
   * any term. It outlives term changes on purpose: a higher-term message that clears `leaderId`
   * (a late pre-vote rejection, say) MUST NOT release it, or the quorum that backs a lease could
   * elect a new leader while the old one still serves lease reads. A restarted member may have
   * acknowledged a leader just before it crashed, so it starts with the hold set.
   */
  private voteHoldUntil = Number.NEGATIVE_INFINITY;
  private votes = new Map<string, boolean>();
  private progress = new Map<string, Progress>();
  private msgs: Outbound[] = [];
  private readStates: ReadState[] = [];
  private pendingReads: PendingRead[] = [];
  private readSeq = 0;
  private seqTimes = new Map<number, number>();
  private transferee: string | null = null;
  private transferDeadline = 0;
  /**
   * A TimeoutNow was sent in this leadership: its target may win an election (voters waive their
   * lease for it) at any later time, even after the transfer timed out here, so no lease reads.
   */
  private sentTimeoutNow = false;
  private needFlush = false;
  private prevHardState: HardState;
  private readyOutstanding = false;
  private pendingSnapshot: Snapshot | null = null;
  private incoming: IncomingSnapshot | null = null;
  /** Latest local snapshot (what the leader sends to lagging followers). */
  private snapshot: Snapshot | null = null;
  /** Membership: base config (from the snapshot) plus config entries in the log, in index order. */
  private baseConfig: ClusterConfig;
  private configEntries: { index: number; config: ClusterConfig }[] = [];
  /** Index of the latest configuration entry known to be appended (0 when none in the log). */
  private leaderCommittedInTerm = false;
  /** When this member last became leader (the membership guard's grace period). */
  private leaderSince = 0;
  /** See `RaftConfig.freshJoin` and `freshBootstrap`; null when this member did not start fresh. */
  private joinCheck: JoinCheck | null = null;
  /** How this member started fresh: to join, or with the static member list (null: not fresh). */
  private freshStart: 'join' | 'bootstrap' | null = null;
  /** While the join check is pending: the commit index of the first append received, or null. */
  private joinTarget: number | null = null;
  /** The term of the append `joinTarget` came from (0: restored, term unknown). */
  private joinTargetTerm = 0;
  /**
   * A fresh bootstrap's newest known committed point while pending: its target with the term of
   * the append it came from (an upper bound of the entry's term), or an offered snapshot's index
   * and term. A candidate holds every entry up to it when its last entry is at least as high, in
   * at least that term (see `withholdsVoteFor`). Null: it has heard of no commit.
   */
  private committedPoint: { index: number; term: number } | null = null;

  constructor(config: RaftConfig) {
    this.id = config.id;
    this.random = config.random;
    this.onRoleChange = config.onRoleChange;
    this.now = config.now ?? 0;
    this.cfg = {
      electionTimeoutMin: config.electionTimeoutMin ?? ELECTION_TIMEOUT_MIN_MS,
      electionTimeoutMax: config.electionTimeoutMax ?? ELECTION_TIMEOUT_MAX_MS,
      heartbeatInterval: config.heartbeatInterval ?? HEARTBEAT_INTERVAL_MS,
      preVote: config.preVote ?? true,
      checkQuorum: config.checkQuorum ?? true,
      maxPendingProposals: config.maxPendingProposals ?? MAX_PENDING_PROPOSALS,
      maxInflight: config.maxInflight ?? MAX_INFLIGHT_APPENDS,
      maxInflightBytes: config.maxInflightBytes ?? MAX_APPEND_BYTES * 4,
      maxAppendBytes: config.maxAppendBytes ?? MAX_APPEND_BYTES,
      maxAppendEntries: config.maxAppendEntries ?? 1024,
      maxRetriesPerAppend: config.maxRetriesPerAppend ?? MAX_RETRIES_PER_APPEND,
      snapshotChunkBytes: config.snapshotChunkBytes ?? SNAPSHOT_CHUNK_BYTES,
      clockDriftBound: config.clockDriftBound ?? CLOCK_DRIFT_BOUND_MS,
      maxLogEntries: config.maxLogEntries ?? MAX_LOG_ENTRIES,
      commitNotifyDelay: config.commitNotifyDelay ?? DEFAULT_COMMIT_NOTIFY_DELAY_MS,
      maxClusterSize: config.maxClusterSize ?? MAX_CLUSTER_SIZE,
      unsafeCommitPreviousTerm: config.unsafeCommitPreviousTerm ?? false,
      unsafeForgetVote: config.unsafeForgetVote ?? false,
    };
    if (!(this.cfg.electionTimeoutMin < this.cfg.electionTimeoutMax)) {
      throw new RangeError('electionTimeoutMin must be below electionTimeoutMax');
    }
    const initial: ClusterConfig = config.initialConfig
      ? cloneConfig(config.initialConfig)
      : {
          voters: [...(config.peers ?? [config.id])].sort(),
          votersOutgoing: [],
          learners: [],
          addresses: [],
        };
    this.baseConfig = initial;
    this.log = new RaftLog();
    const r = config.restored;
    if (r) {
      if (r.snapshot) {
        this.log.restore(r.snapshot.meta.index, r.snapshot.meta.term);
        this.baseConfig = cloneConfig(r.snapshot.meta.config);
        this.snapshot = r.snapshot;
        this.applied = r.snapshot.meta.index;
        this.commit = r.snapshot.meta.index;
      }
      const tail = r.entries.filter((e) => e.index > this.log.snapshotIndex);
      this.log.append(tail);
      this.log.stableIndex = this.log.lastIndex();
      for (const e of tail) this.noteConfigEntry(e);
      this.term = r.hardState.term;
      this.votedFor = r.hardState.votedFor;
      this.commit = Math.max(this.commit, Math.min(r.hardState.commit, this.log.lastIndex()));
      // (The broken variant forgets the hold with the vote, or the hold alone would mask it.)
      if (!this.cfg.unsafeForgetVote) this.voteHoldUntil = this.now + this.cfg.electionTimeoutMin;
    }
    if (config.freshJoin || config.freshBootstrap) {
      this.joinCheck = 'pending';
      this.freshStart = config.freshJoin ? 'join' : 'bootstrap';
      this.joinTarget = config.joinTarget ?? null;
      if (config.freshBootstrap && this.joinTarget !== null && this.joinTarget > 0) {
        this.joinTargetTerm = config.joinTargetTerm ?? 0;
        // Without its term the point admits no candidate until an append brings one.
        this.noteCommittedPoint(this.joinTarget, this.joinTargetTerm || Number.POSITIVE_INFINITY);
      }
      this.judgeJoin();
    }
    this.prevHardState = this.hardState();
    this.roleMachine = createNodeRoleMachine({});
    this.resetElectionDeadline();
  }

  // ------------------------------------------------------------------ observation

  /** Current role (from the generated role machine). */
  get role(): NodeRole {
    return this.roleMachine.state;
  }

  /** The hard state as it must be persisted. */
  hardState(): HardState {
    return { term: this.term, votedFor: this.votedFor, commit: this.commit };
  }

  /** The membership in force (the latest configuration in the log, applied on append). */
  config(): ClusterConfig {
    const last = this.configEntries[this.configEntries.length - 1];
    return last ? last.config : this.baseConfig;
  }

  /** The membership as of `index` (for snapshot metadata). */
  configAt(index: number): ClusterConfig {
    let c = this.baseConfig;
    for (const ce of this.configEntries) if (ce.index <= index) c = ce.config;
    return c;
  }

  /** Observable state. */
  status(): RaftStatus {
    const progress: ProgressView[] = [];
    for (const p of this.progress.values()) {
      progress.push({
        id: p.id,
        match: p.match,
        next: p.next,
        state: p.state,
        unreachable: p.unreachable,
        live: this.heardRecently(p.id),
        inflight: p.inflight.length,
        inflightBytes: p.inflightBytes,
      });
    }
    return {
      id: this.id,
      term: this.term,
      votedFor: this.votedFor,
      role: this.role,
      leaderId: this.leaderId,
      commitIndex: this.commit,
      appliedIndex: this.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      snapshotIndex: this.log.snapshotIndex,
      config: cloneConfig(this.config()),
      progress,
      transferee: this.transferee,
      joinCheck: this.joinCheck,
      joinTarget: this.joinTarget,
      joinTargetTerm: this.joinTarget === null ? null : this.joinTargetTerm,
    };
  }

  /** Whether a message from `id` arrived within electionTimeoutMin (never heard: false). */
  private heardRecently(id: string): boolean {
    const heard = this.progress.get(id)?.lastHeard ?? Number.NEGATIVE_INFINITY;
    return heard >= this.now - this.cfg.electionTimeoutMin;
  }

  /** Absolute time (ms) at which `tick` next has work to do; the driver arms one timer for it. */
  nextDeadline(): number {
    if (this.role === 'leader') {
      let d = Math.min(
        this.heartbeatDeadline,
        this.commitNotifyDeadline,
        this.cfg.checkQuorum ? this.checkQuorumDeadline : Infinity,
      );
      if (this.transferee !== null) d = Math.min(d, this.transferDeadline);
      return d;
    }
    return this.electionDeadline;
  }

  // ------------------------------------------------------------------ time

  /**
   * Advances the core's notion of time to `now` (monotonic ms; earlier values are ignored) without
   * acting on deadlines: the driver calls it before stepping a message, so that the message is
   * handled at the right time, and leaves timeouts to `tick`. A member whose process was stalled
   * must first read what arrived meanwhile: a heartbeat waiting in its socket is not silence.
   */
  advanceClock(now: number): void {
    if (now > this.now) this.now = now;
  }

  /**
   * Advances the core's notion of time to `now` (monotonic ms; earlier values are ignored) and fires
   * due timeouts: elections on followers and candidates, heartbeats and check-quorum on leaders.
   */
  tick(now: number): void {
    if (now > this.now) this.now = now;
    if (this.role === 'leader') {
      if (this.transferee !== null && this.now >= this.transferDeadline) this.transferee = null;
      if (this.cfg.checkQuorum && this.now >= this.checkQuorumDeadline) {
        this.checkQuorumDeadline = this.now + this.cfg.electionTimeoutMin;
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, null, 'quorum_lost');
          return;
        }
        // Compact with the activity of the period that just ended, before it is cleared: else no
        // follower counts as active and the log a catching-up follower needs is compacted away.
        this.maybeCompact();
        for (const p of this.progress.values()) p.recentActive = false;
      }
      if (this.role === 'leader' && this.now >= this.commitNotifyDeadline) this.notifyCommit();
      if (this.role === 'leader' && this.now >= this.heartbeatDeadline) {
        this.heartbeatDeadline = this.now + this.cfg.heartbeatInterval;
        this.lastLeaderContact = this.now;
        this.broadcastHeartbeat();
      }
      return;
    }
    if (this.now >= this.electionDeadline) {
      if (!isVoter(this.config(), this.id) || this.withholdsCampaign()) {
        // A learner never campaigns, so no election clears a leader it no longer hears from:
        // forget it after an election timeout, or /health and redirects name a dead leader.
        if (this.now - this.lastLeaderContact >= this.cfg.electionTimeoutMin) this.leaderId = null;
        this.resetElectionDeadline();
        return;
      }
      // With pre-vote every retry, a timed-out candidate's included, is a pre-vote round first: a
      // member cut off mid-election then keeps its term and cannot unseat the leader on rejoin (etcd).
      this.campaign(this.cfg.preVote ? 'pre' : 'real');
    }
  }

  private randomTimeout(): number {
    const { electionTimeoutMin: lo, electionTimeoutMax: hi } = this.cfg;
    return lo + Math.floor(this.random() * (hi - lo));
  }

  private resetElectionDeadline(): void {
    this.electionDeadline = this.now + this.randomTimeout();
  }

  // ------------------------------------------------------------------ role changes

  private fire(event: NodeRoleMachineEvent): void {
    const from = this.roleMachine.state;
    const to = this.roleMachine.fire(event);
    this.onRoleChange?.({ from, to, event, term: this.term });
  }

  private becomeFollower(
    term: number,
    leader: string | null,
    reason: 'higher_term' | 'leader_seen' | 'quorum_lost' | 'storage_stalled' | 'removed' | 'transfer_done',
  ): void {
    if (term > this.term) {
      this.term = term;
      this.votedFor = null;
    }
    const event: NodeRoleMachineEvent = reason;
    this.fire(event);
    this.leaderId = leader;
    if (leader !== null) this.noteLeaderContact();
    this.resetLeaderState();
    this.resetElectionDeadline();
  }

  private resetLeaderState(): void {
    this.progress.clear();
    this.commitNotifyDeadline = Number.POSITIVE_INFINITY;
    this.pendingReads = [];
    this.transferee = null;
    this.sentTimeoutNow = false;
    this.votes.clear();
    this.leaderCommittedInTerm = false;
  }

  private campaign(kind: 'pre' | 'real' | 'transfer'): void {
    const role = this.role;
    if (kind === 'pre') {
      this.fire('election_timeout');
    } else if (kind === 'transfer') {
      this.fire('timeout_now');
    } else if (role === 'pre_candidate') {
      this.fire('pre_vote_quorum');
    } else {
      // follower or candidate whose timer fired with pre-vote off
      this.fire('election_timeout_no_pre_vote');
    }
    this.resetLeaderState();
    this.leaderId = null;
    this.resetElectionDeadline();
    const pre = kind === 'pre';
    if (!pre) {
      this.term += 1;
      this.votedFor = this.id;
    }
    this.votes.set(this.id, true);
    if (voteResult(this.config(), this.votes) === 'won') {
      if (pre) this.campaign('real');
      else this.becomeLeader();
      return;
    }
    for (const v of allVoters(this.config())) {
      if (v === this.id) continue;
      const m: VoteRequest = {
        type: 'VoteRequest',
        term: pre ? this.term + 1 : this.term,
        candidateId: this.id,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        isPreVote: pre,
        leadershipTransfer: kind === 'transfer',
      };
      this.send(v, m);
    }
  }

  /** A follower heard from its leader: renews the vote hold that the leader's lease relies on. */
  private noteLeaderContact(): void {
    this.lastLeaderContact = this.now;
    this.voteHoldUntil = Math.max(this.voteHoldUntil, this.now + this.cfg.electionTimeoutMin);
  }

  private becomeLeader(): void {
    this.fire('vote_quorum');
    this.leaderId = this.id;
    this.leaderSince = this.now;
    // A fresh bootstrap campaigns only with an empty log before it heard of commits (see
    // withholdsCampaign), so it was elected by members whose logs are empty too: a cluster forming
    // (or a second member without its log: not covered). Its first leader never gets an append to
    // be judged by.
    if (this.freshStart === 'bootstrap' && this.joinCheck === 'pending') this.joinCheck = 'ok';
    this.votes.clear();
    this.lastLeaderContact = this.now;
    this.heartbeatDeadline = this.now; // first heartbeat round at once
    this.checkQuorumDeadline = this.now + this.cfg.electionTimeoutMin;
    this.syncProgress();
    // Raft §8: a no-op in the new term lets the leader commit (and learn) what earlier terms left.
    this.appendEntry('noop', EMPTY);
    this.broadcastHeartbeat();
    this.heartbeatDeadline = this.now + this.cfg.heartbeatInterval;
  }

  /** Creates or drops progress trackers so they match the membership in force (leader only). */
  private syncProgress(): void {
    const members = new Set(allMembers(this.config()));
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    for (const id of members) {
      if (id === this.id || this.progress.has(id)) continue;
      this.progress.set(id, {
        id,
        match: 0,
        next: this.log.lastIndex() + 1,
        state: 'probe',
        paused: false,
        retries: 0,
        unreachable: false,
        inflight: [],
        inflightBytes: 0,
        recentActive: true,
        // Not heard from yet, so not live for the membership guard: a fresh leader must not count
        // a voter that is down as live (check-quorum's grace period is `recentActive`).
        lastHeard: Number.NEGATIVE_INFINITY,
        lastProgressAt: this.now,
        matchSeq: 0,
        ackedSeq: 0,
        ackedTime: Number.NEGATIVE_INFINITY,
        snapshot: null,
        sentCommit: 0,
      });
    }
    // The quorum that confirms pending reads may have changed: members that left will never ack,
    // and with the leader as the only voter nothing else would serve the reads already waiting.
    this.advanceReads();
  }

  private quorumActive(): boolean {
    return (
      quorumValue(this.config(), (id) =>
        id === this.id ? 1 : this.progress.get(id)?.recentActive ? 1 : 0,
      ) >= 1
    );
  }

  // ------------------------------------------------------------------ membership bookkeeping

  private noteConfigEntry(e: LogEntry): void {
    if (e.entryType !== 'configuration') return;
    this.configEntries.push({ index: e.index, config: decodeClusterConfig(e.command) });
  }

  /**
   * A freshly joined member judges itself (see `RaftConfig.freshJoin`) once its log holds what was
   * committed when it came back, by the configuration at that index (every committed change) or
   * else the first later one that names it: a voter there that is not new in a joint
   * configuration was a voter before its log was lost. (A newcomer's own addition may follow.)
   */
  private judgeJoin(): void {
    if (this.joinCheck !== 'pending' || this.joinTarget === null) return;
    if (this.log.lastIndex() < this.joinTarget) return;
    if (this.freshStart === 'bootstrap') {
      // It holds what was committed when it came back: every entry it may have acknowledged
      // before its dir was emptied. It was started as a voter of the static list; nothing to judge.
      this.joinCheck = 'ok';
      return;
    }
    // The configuration when it came back, then each later one, until one names it.
    const target = this.joinTarget;
    const candidates = [
      this.configAt(target),
      ...this.configEntries.filter((c) => c.index > target).map((c) => c.config),
    ];
    for (const c of candidates) {
      const incoming = c.voters.includes(this.id) && !c.votersOutgoing.includes(this.id);
      if (c.votersOutgoing.includes(this.id) || (incoming && c.votersOutgoing.length === 0)) {
        this.joinCheck = 'lost_log';
        return;
      }
      if (incoming || c.learners.includes(this.id)) {
        this.joinCheck = 'ok';
        return;
      }
    }
  }

  /**
   * Keeps the newer of the known committed point and (index, term); see `committedPoint`. A point
   * of unknown term (Infinity: a restored target) gives way to any point at least as high.
   */
  private noteCommittedPoint(index: number, term: number): void {
    if (this.freshStart !== 'bootstrap' || this.joinCheck !== 'pending' || index <= 0) return;
    const p = this.committedPoint;
    const newer =
      !p ||
      index > p.index ||
      (index === p.index && (term > p.term || (p.term === Number.POSITIVE_INFINITY && term > 0)));
    if (newer) this.committedPoint = { index, term };
  }

  /** A fresh bootstrap that has not caught up knows entries were committed: an empty log lacks them. */
  private heardOfCommits(): boolean {
    return this.committedPoint !== null;
  }

  /**
   * Campaigns are withheld while a fresh join is unconfirmed or found a lost log, and while a fresh
   * bootstrap that has not caught up holds any entry or has heard of commits: its own vote is the
   * one it may have lost, so with a partial log it could win with a lagging member's vote. With an
   * empty log, before it heard from any leader, it wins only with the votes of members whose logs
   * are empty too: a cluster forming (or a second member without its log).
   */
  private withholdsCampaign(): boolean {
    if (this.freshStart === 'bootstrap')
      return this.joinCheck === 'pending' && (this.log.lastIndex() > 0 || this.heardOfCommits());
    return this.joinCheck === 'pending' || this.joinCheck === 'lost_log';
  }

  /**
   * Votes too. A fresh bootstrap that has not caught up votes, before it heard of commits, only for
   * a candidate whose log is empty (a cluster forming); after, only for one whose last entry is at
   * or above the known committed point in at least its term: by log matching (same term, same
   * leader) or leader completeness (a later term), such a log holds every entry up to that point,
   * so all this member may have acknowledged before its log was lost. (The member that holds
   * them, the old leader back, can then be elected.)
   */
  private withholdsVoteFor(candidateLastIndex: number, candidateLastTerm: number): boolean {
    if (this.freshStart === 'bootstrap') {
      if (this.joinCheck !== 'pending') return false;
      const p = this.committedPoint;
      if (!p) return candidateLastIndex > 0;
      return candidateLastIndex < p.index || candidateLastTerm < p.term;
    }
    return this.joinCheck === 'pending' || this.joinCheck === 'lost_log';
  }

  private onTruncate(from: number): void {
    this.configEntries = this.configEntries.filter((c) => c.index < from);
  }

  private onCompact(index: number): void {
    const keep: { index: number; config: ClusterConfig }[] = [];
    for (const c of this.configEntries) {
      if (c.index <= index) this.baseConfig = c.config;
      else keep.push(c);
    }
    this.configEntries = keep;
  }

  private lastConfigIndex(): number {
    const last = this.configEntries[this.configEntries.length - 1];
    return last ? last.index : 0;
  }

  // ------------------------------------------------------------------ proposals

  private appendEntry(entryType: LogEntryType, command: Uint8Array): { index: number; term: number } {
    const e: LogEntry = {
      index: this.log.lastIndex() + 1,
      term: this.term,
      entryType,
      command,
      timestamp: Math.max(0, Math.floor(this.now)),
    };
    this.log.append([e]);
    this.noteConfigEntry(e);
    if (e.entryType === 'configuration') this.syncProgress();
    this.needFlush = true;
    this.maybeCommit();
    return { index: e.index, term: e.term };
  }

  private requireLeader(): void {
    if (this.role !== 'leader')
      throw new ProposalRejected('not_leader', `${this.id} is not the leader`, this.leaderId);
  }

  /**
   * Appends a command to the leader's log. Throws ProposalRejected: `not_leader` (with the known
   * leader), `transfer_in_progress`, or `backpressure` when MAX_PENDING_PROPOSALS entries are
   * uncommitted. A returned (index, term) is committed only if that entry is later applied with the
   * same term.
   */
  propose(data: Uint8Array): { index: number; term: number } {
    this.requireLeader();
    if (this.transferee !== null)
      throw new ProposalRejected('transfer_in_progress', 'leadership transfer in progress', this.leaderId);
    if (this.log.lastIndex() - this.commit >= this.cfg.maxPendingProposals) {
      throw new ProposalRejected(
        'backpressure',
        `${this.cfg.maxPendingProposals} proposals pending`,
        this.leaderId,
      );
    }
    return this.appendEntry('command', data);
  }

  /**
   * Proposes a membership change (§6, joint consensus). Voter changes go through a joint
   * configuration which the leader leaves automatically once it commits; learner changes are
   * simple. Refused while a change is pending, when a promoted learner is not caught up, when the
   * result would have no quorum of live voters, or more than MAX_CLUSTER_SIZE voters.
   */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    this.requireLeader();
    if (this.transferee !== null)
      throw new ProposalRejected('transfer_in_progress', 'leadership transfer in progress', this.leaderId);
    // Until the leader commits an entry of its term it cannot know whether a change of an earlier
    // term is committed (Raft §6, the single-server change bug): a wait, not a pending change.
    if (!this.leaderCommittedInTerm) {
      throw new ProposalRejected(
        'not_committed_in_term',
        'the leader has not committed an entry in its term yet',
        this.leaderId,
      );
    }
    const cur = this.config();
    if (this.lastConfigIndex() > this.commit || cur.votersOutgoing.length > 0) {
      throw new ProposalRejected(
        'conf_change_pending',
        'a membership change is still pending',
        this.leaderId,
      );
    }
    const next = cloneConfig(cur);
    const id = cc.nodeId;
    const setAddr = () => {
      if (cc.address) {
        next.addresses = next.addresses.filter((a) => a.id !== id);
        next.addresses.push({ id, address: cc.address });
      }
    };
    let voterChange = false;
    switch (cc.changeType) {
      case 'add_voter':
        if (next.voters.includes(id))
          throw new ProposalRejected('conf_change_invalid', `${id} is already a voter`);
        // A learner becomes a voter only through promote_learner, which checks it has caught up.
        if (next.learners.includes(id))
          throw new ProposalRejected(
            'conf_change_invalid',
            `${id} is already a learner: promote it (promote_learner) once it has caught up`,
          );
        next.voters.push(id);
        setAddr();
        voterChange = true;
        break;
      case 'add_learner':
        if (next.voters.includes(id) || next.learners.includes(id))
          throw new ProposalRejected('conf_change_invalid', `${id} is already a member`);
        next.learners.push(id);
        setAddr();
        break;
      case 'promote_learner': {
        if (!next.learners.includes(id))
          throw new ProposalRejected('conf_change_invalid', `${id} is not a learner`);
        const p = this.progress.get(id);
        if (!p || p.match < this.commit)
          throw new ProposalRejected('not_caught_up', `${id} has not caught up`);
        next.learners = next.learners.filter((l) => l !== id);
        next.voters.push(id);
        voterChange = true;
        break;
      }
      case 'remove_node':
        if (next.voters.includes(id)) {
          next.voters = next.voters.filter((v) => v !== id);
          voterChange = true;
        } else if (next.learners.includes(id)) {
          next.learners = next.learners.filter((v) => v !== id);
        } else throw new ProposalRejected('conf_change_invalid', `${id} is not a member`);
        next.addresses = next.addresses.filter((a) => a.id !== id);
        break;
    }
    next.voters.sort();
    next.learners.sort();
    if (next.voters.length === 0) throw new ProposalRejected('conf_change_invalid', 'no voters would remain');
    if (next.voters.length > this.cfg.maxClusterSize) {
      throw new ProposalRejected('cluster_too_large', `at most ${this.cfg.maxClusterSize} voters`);
    }
    if (voterChange) {
      const liveCount = next.voters.filter((v) => v === this.id || this.heardRecently(v)).length;
      if (liveCount < Math.floor(next.voters.length / 2) + 1) {
        // A leader younger than an election timeout may not have heard from live voters yet
        // (right after a handover, say): that is a wait, not a verdict.
        const unheard = next.voters.some(
          (v) => v !== this.id && this.progress.get(v)?.lastHeard === Number.NEGATIVE_INFINITY,
        );
        if (unheard && this.now - this.leaderSince < this.cfg.electionTimeoutMin)
          throw new ProposalRejected(
            'voters_not_heard',
            'the new leader has not heard from enough voters yet to tell whether the change keeps a live quorum',
            this.leaderId,
          );
        throw new ProposalRejected(
          'no_live_quorum',
          'the new configuration would have no quorum of live voters',
        );
      }
      next.votersOutgoing = [...cur.voters];
    }
    return this.appendEntry('configuration', encodeClusterConfig(next));
  }

  /** Leader: once a joint configuration commits, append the final one (C_new). */
  private maybeLeaveJoint(): void {
    if (this.role !== 'leader') return;
    const cur = this.config();
    if (cur.votersOutgoing.length === 0 || this.lastConfigIndex() > this.commit) return;
    const next = cloneConfig(cur);
    next.votersOutgoing = [];
    this.appendEntry('configuration', encodeClusterConfig(next));
  }

  /** Leader: step down once a committed configuration no longer lists it as a voter. */
  private maybeStepDownRemoved(): void {
    if (this.role !== 'leader') return;
    const cur = this.config();
    if (
      cur.votersOutgoing.length === 0 &&
      this.lastConfigIndex() <= this.commit &&
      !cur.voters.includes(this.id)
    ) {
      this.becomeFollower(this.term, null, 'removed');
    }
  }

  // ------------------------------------------------------------------ reads

  /**
   * Requests a linearizable read. The returned ReadState (same `ctx`) appears in a later Ready once
   * a quorum confirmed leadership (ReadIndex) or at once when `lease` is asked and the leader's
   * lease (election timeout minus the clock-drift bound, counted from the quorum's acknowledged
   * heartbeat send time) still runs; a lease read falls back to ReadIndex otherwise. Refused on a
   * non-leader and on a leader that has not committed an entry in its term.
   */
  readIndex(ctx: string, opts: { lease?: boolean } = {}): void {
    this.requireLeader();
    if (!this.leaderCommittedInTerm) {
      throw new ProposalRejected(
        'not_committed_in_term',
        'the leader has not committed an entry in its term yet',
        this.leaderId,
      );
    }
    if (allVoters(this.config()).length === 1 && isVoter(this.config(), this.id)) {
      this.readStates.push({ index: this.commit, ctx });
      return;
    }
    if (opts.lease && this.leaseValid()) {
      this.readStates.push({ index: this.commit, ctx });
      return;
    }
    this.readSeq += 1;
    this.seqTimes.set(this.readSeq, this.now);
    this.pendingReads.push({ seq: this.readSeq, index: this.commit, ctx });
    for (const p of this.progress.values()) this.sendHeartbeat(p);
  }

  /** True while a lease read may be served without a round trip (requires check-quorum). */
  leaseValid(): boolean {
    if (
      this.role !== 'leader' ||
      !this.cfg.checkQuorum ||
      this.transferee !== null ||
      this.sentTimeoutNow ||
      !this.leaderCommittedInTerm
    )
      return false;
    const t = quorumValue(this.config(), (id) =>
      id === this.id ? this.now : (this.progress.get(id)?.ackedTime ?? Number.NEGATIVE_INFINITY),
    );
    return t + this.cfg.electionTimeoutMin - this.cfg.clockDriftBound > this.now;
  }

  private advanceReads(): void {
    if (this.pendingReads.length === 0) return;
    const acked = quorumValue(this.config(), (id) =>
      id === this.id ? this.readSeq : (this.progress.get(id)?.ackedSeq ?? 0),
    );
    while (this.pendingReads.length > 0 && (this.pendingReads[0] as PendingRead).seq <= acked) {
      const r = this.pendingReads.shift() as PendingRead;
      this.readStates.push({ index: r.index, ctx: r.ctx });
    }
  }

  /**
   * Leader only: gives up leadership at once (e.g. its storage stalled longer than
   * MAX_SYNC_STALL_MS, so it cannot make progress); a no-op in any other role.
   */
  stepDown(): void {
    if (this.role === 'leader') this.becomeFollower(this.term, null, 'storage_stalled');
  }

  // ------------------------------------------------------------------ leadership transfer

  /** Hands leadership to `target` (a voter): it is caught up first, then sent TimeoutNow. */
  transferLeadership(target: string): void {
    this.requireLeader();
    if (target === this.id) return;
    if (!isVoter(this.config(), target))
      throw new ProposalRejected('conf_change_invalid', `${target} is not a voter`);
    const p = this.progress.get(target);
    if (!p) throw new ProposalRejected('conf_change_invalid', `${target} is unknown`);
    this.transferee = target;
    this.transferDeadline = this.now + this.cfg.electionTimeoutMin;
    if (p.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.sendAppend(p);
  }

  private sendTimeoutNow(to: string): void {
    const m: TimeoutNow = { type: 'TimeoutNow', term: this.term, leaderId: this.id };
    this.sentTimeoutNow = true;
    this.send(to, m);
  }

  // ------------------------------------------------------------------ snapshots

  /**
   * The application took a snapshot of its state at `index` (<= applied). The core keeps it for
   * lagging followers and compacts the log, keeping the suffix that followers still need (entries
   * after a snapshot in flight, and what recently active followers lack) within maxLogEntries.
   * Returns the snapshot metadata (persist it with the data) and the new first index.
   */
  createSnapshot(index: number, data: Uint8Array): { meta: SnapshotMeta; compactedTo: number } {
    if (index > this.applied)
      throw new RaftInvariantError(`snapshot at ${index} above applied ${this.applied}`);
    if (index <= this.log.snapshotIndex) {
      return { meta: (this.snapshot as Snapshot).meta, compactedTo: this.log.snapshotIndex };
    }
    const term = this.log.term(index);
    if (term === undefined) throw new RaftInvariantError(`snapshot index ${index} not in log`);
    const meta: SnapshotMeta = { index, term, config: cloneConfig(this.configAt(index)) };
    this.snapshot = { meta, data };
    this.maybeCompact();
    return { meta, compactedTo: this.log.snapshotIndex };
  }

  /**
   * Compacts the log up to the latest snapshot, but keeps entries that followers still need: the
   * suffix after a snapshot in flight, and what recently active followers lack, as long as at most
   * maxLogEntries entries are retained. Re-run every check-quorum period, as needs relax.
   */
  private maybeCompact(): void {
    if (!this.snapshot) return;
    let to = this.snapshot.meta.index;
    for (const p of this.progress.values()) {
      if (p.snapshot) to = Math.min(to, p.snapshot.snap.meta.index);
      else if (p.recentActive && p.match >= this.log.snapshotIndex) to = Math.min(to, p.match);
    }
    to = Math.max(to, this.log.lastIndex() - this.cfg.maxLogEntries, this.log.snapshotIndex);
    this.compactTo(Math.min(to, this.snapshot.meta.index));
  }

  private compactTo(index: number): void {
    if (index <= this.log.snapshotIndex) return;
    this.onCompact(index);
    this.log.compact(index);
  }

  // ------------------------------------------------------------------ replication (leader)

  private send(to: string, message: RaftMessage): void {
    this.msgs.push({ to, message });
  }

  private sendAppend(p: Progress): boolean {
    if (p.state === 'snapshot') return false;
    if (p.state === 'probe' && p.paused) return false;
    if (
      p.state === 'replicate' &&
      (p.inflight.length >= this.cfg.maxInflight || p.inflightBytes >= this.cfg.maxInflightBytes)
    )
      return false;
    const prev = p.next - 1;
    const prevTerm = this.log.term(prev);
    if (prevTerm === undefined) {
      this.startSnapshot(p);
      return true;
    }
    const entries: LogEntry[] = [];
    let bytes = 0;
    const last = this.log.lastIndex();
    for (let i = p.next; i <= last && entries.length < this.cfg.maxAppendEntries; i++) {
      const e = this.log.entry(i) as LogEntry;
      if (entries.length > 0 && bytes + e.command.length > this.cfg.maxAppendBytes) break;
      entries.push(e);
      bytes += e.command.length;
    }
    const m: AppendRequest = {
      type: 'AppendRequest',
      term: this.term,
      leaderId: this.id,
      prevLogIndex: prev,
      prevLogTerm: prevTerm,
      entries,
      leaderCommit: this.commit,
      readSeq: this.readSeq,
    };
    this.send(p.id, m);
    if (this.commit > p.sentCommit) p.sentCommit = this.commit;
    if (p.state === 'replicate') {
      if (entries.length > 0) {
        if (p.inflight.length === 0) p.lastProgressAt = this.now;
        const lastSent = (entries[entries.length - 1] as LogEntry).index;
        p.inflight.push({ index: lastSent, bytes });
        p.inflightBytes += bytes;
        p.next = lastSent + 1;
      }
    } else {
      p.paused = true;
    }
    return entries.length > 0;
  }

  /**
   * The delayed commit notification: a heartbeat to each follower that can take a higher commit
   * index than it was sent (an append since the commit advanced already carried it).
   */
  private notifyCommit(): void {
    this.commitNotifyDeadline = Number.POSITIVE_INFINITY;
    for (const p of this.progress.values()) if (this.lacksCommit(p)) this.sendHeartbeat(p);
  }

  /** Schedules the delayed commit notification, unless one is already due. */
  private armCommitNotify(): void {
    if (this.commitNotifyDeadline === Number.POSITIVE_INFINITY)
      this.commitNotifyDeadline = this.now + this.cfg.commitNotifyDelay;
  }

  private anyLacksCommit(): boolean {
    for (const p of this.progress.values()) if (this.lacksCommit(p)) return true;
    return false;
  }

  private lacksCommit(p: Progress): boolean {
    return p.state === 'replicate' && p.sentCommit < Math.min(this.commit, p.match);
  }

  /** An append without new entries (prev = match) that carries commit and read_seq. */
  private sendHeartbeat(p: Progress): void {
    if (p.state === 'snapshot') {
      this.sendSnapshotChunk(p);
      return;
    }
    if (p.state === 'probe') {
      p.paused = false;
      this.sendAppend(p);
      return;
    }
    let prev = p.match;
    let prevTerm = this.log.term(prev);
    if (prevTerm === undefined) {
      prev = this.log.snapshotIndex;
      prevTerm = this.log.snapshotTerm;
    }
    const m: AppendRequest = {
      type: 'AppendRequest',
      term: this.term,
      leaderId: this.id,
      prevLogIndex: prev,
      prevLogTerm: prevTerm,
      entries: [],
      leaderCommit: Math.min(this.commit, prev),
      readSeq: this.readSeq,
    };
    this.send(p.id, m);
    if (m.leaderCommit > p.sentCommit) p.sentCommit = m.leaderCommit;
  }

  private broadcastHeartbeat(): void {
    this.readSeq += 1;
    this.seqTimes.set(this.readSeq, this.now);
    const horizon = this.now - 2 * this.cfg.electionTimeoutMax;
    for (const [s, t] of this.seqTimes) {
      if (t < horizon) this.seqTimes.delete(s);
      else break;
    }
    for (const p of this.progress.values()) {
      if (p.state === 'probe') {
        if (p.paused) {
          p.retries += 1;
          if (p.retries >= this.cfg.maxRetriesPerAppend) p.unreachable = true;
        }
        p.paused = false;
        this.sendAppend(p);
      } else if (p.state === 'replicate') {
        // Appends or their acknowledgements were lost (nothing acknowledged for two heartbeat
        // intervals while some are in flight): fall back to probing from match + 1.
        if (p.inflight.length > 0 && this.now - p.lastProgressAt >= 2 * this.cfg.heartbeatInterval) {
          this.becomeProbe(p);
          this.sendAppend(p);
        } else if (!this.sendAppendsReplicate(p)) this.sendHeartbeat(p);
      } else {
        this.sendSnapshotChunk(p);
      }
    }
  }

  /** Back to probing `p` from `next` (default: after its match); the pipeline is dropped. */
  private becomeProbe(p: Progress, next = p.match + 1): void {
    p.state = 'probe';
    p.paused = false;
    p.next = next;
    p.inflight = [];
    p.inflightBytes = 0;
  }

  /** Sends as many batches as the pipeline window allows; true when anything was sent. */
  private sendAppendsReplicate(p: Progress): boolean {
    let sent = false;
    while (p.state === 'replicate' && p.next <= this.log.lastIndex() && this.sendAppend(p)) sent = true;
    return sent;
  }

  /** Sends pending entries (and new commit indexes) to every follower: batching happens here. */
  private flush(): void {
    if (!this.needFlush || this.role !== 'leader') {
      this.needFlush = false;
      return;
    }
    this.needFlush = false;
    for (const p of this.progress.values()) {
      if (p.state === 'replicate') {
        if (!this.sendAppendsReplicate(p)) this.sendHeartbeat(p);
      } else if (p.state === 'probe' && !p.paused) {
        this.sendAppend(p);
      }
    }
    // Appends just carried the commit index: no separate notification (and no timer) needed.
    if (this.commitNotifyDeadline !== Number.POSITIVE_INFINITY && !this.anyLacksCommit())
      this.commitNotifyDeadline = Number.POSITIVE_INFINITY;
  }

  private startSnapshot(p: Progress): void {
    const snap = this.snapshot;
    if (!snap) throw new RaftInvariantError(`no snapshot to send to ${p.id} (next ${p.next})`);
    p.state = 'snapshot';
    p.inflight = [];
    p.inflightBytes = 0;
    p.snapshot = { id: snap.meta.index, snap, offset: 0 };
    this.sendSnapshotChunk(p);
  }

  private sendSnapshotChunk(p: Progress): void {
    const t = p.snapshot;
    if (!t) return;
    const data = t.snap.data;
    const end = Math.min(data.length, t.offset + this.cfg.snapshotChunkBytes);
    const chunk = data.subarray(t.offset, end);
    const m: InstallSnapshotRequest = {
      type: 'InstallSnapshotRequest',
      term: this.term,
      leaderId: this.id,
      snapshotId: t.id,
      meta: t.snap.meta,
      offset: t.offset,
      totalSize: data.length,
      data: chunk,
      chunkCrc: crc32(chunk),
      done: end === data.length,
    };
    this.send(p.id, m);
  }

  private maybeCommit(): void {
    if (this.role !== 'leader') return;
    // The leader counts itself only up to what is durable on its own disk (Raft thesis 10.2.1):
    // the driver may send appends before its own save completes, so its log beyond stableIndex
    // could be lost by a crash and must not make up a quorum. `advance` re-runs this on persist.
    const self = this.log.stableIndex;
    const idx = quorumValue(this.config(), (id) =>
      id === this.id ? self : (this.progress.get(id)?.match ?? 0),
    );
    if (idx <= this.commit) return;
    // Raft §5.4.2: only entries of the current term are committed by counting replicas.
    if (this.log.term(idx) !== this.term && !this.cfg.unsafeCommitPreviousTerm) return;
    this.commit = idx;
    this.leaderCommittedInTerm = this.leaderCommittedInTerm || this.log.term(idx) === this.term;
    if (this.cfg.commitNotifyDelay <= 0) this.needFlush = true;
    else this.armCommitNotify();
    this.maybeLeaveJoint();
    this.maybeStepDownRemoved();
  }

  private handleAppendResponse(from: string, m: AppendResponse): void {
    const p = this.progress.get(from);
    if (!p) return;
    p.recentActive = true;
    p.lastHeard = this.now;
    p.retries = 0;
    p.unreachable = false;
    if (m.readSeq > p.ackedSeq) {
      p.ackedSeq = m.readSeq;
      const t = this.seqTimes.get(m.readSeq);
      if (t !== undefined && t > p.ackedTime) p.ackedTime = t;
      this.advanceReads();
    }
    if (!m.success) {
      // match_index carries the rejected prev_log_index: a rejection at or below match is stale,
      // unless it answers an append sent after match was acknowledged (read_seq echoes the send's)
      // and comes from a log shorter than match: then the follower lost entries it had
      // acknowledged (its data dir was emptied). Count only what it holds now (its lost
      // acknowledgements must not commit anything more) and replicate to it again; else it would
      // be probed at match forever. (A reordered, older rejection carries an older read_seq.)
      if (m.matchIndex === p.match && p.match > 0 && m.lastLogIndex < p.match && m.readSeq > p.matchSeq) {
        p.match = m.lastLogIndex;
        p.matchSeq = this.readSeq;
        p.snapshot = null;
        this.becomeProbe(p);
        this.sendAppend(p);
        return;
      }
      if (m.matchIndex <= p.match) return;
      if (p.state === 'snapshot') return;
      let next: number;
      if (m.conflictTerm === 0) next = m.conflictIndex;
      else {
        const li = this.log.lastIndexOfTerm(m.conflictTerm);
        next = li > 0 ? li + 1 : m.conflictIndex;
      }
      next = Math.min(next, m.matchIndex, m.lastLogIndex + 1);
      this.becomeProbe(p, Math.max(p.match + 1, next));
      this.sendAppend(p);
      return;
    }
    if (m.matchIndex > p.match) {
      p.match = m.matchIndex;
      p.matchSeq = this.readSeq;
      p.lastProgressAt = this.now;
      if (p.next <= p.match) p.next = p.match + 1;
      while (p.inflight.length > 0 && (p.inflight[0] as { index: number }).index <= p.match) {
        const f = p.inflight.shift() as { index: number; bytes: number };
        p.inflightBytes -= f.bytes;
      }
      if (p.state === 'probe') {
        p.state = 'replicate';
        p.paused = false;
        p.next = p.match + 1;
      }
      this.maybeCommit();
      if (this.role !== 'leader') return;
      // A follower whose acknowledgement came after the commit advanced learns it the same way.
      if (this.cfg.commitNotifyDelay > 0 && this.lacksCommit(p)) this.armCommitNotify();
      if (this.transferee === from && p.match === this.log.lastIndex()) this.sendTimeoutNow(from);
    } else if (p.state === 'probe') {
      p.paused = false;
      if (p.next <= p.match) p.next = p.match + 1;
    }
    if (p.state === 'replicate') this.sendAppendsReplicate(p);
    else if (p.state === 'probe' && !p.paused && p.next <= this.log.lastIndex()) this.sendAppend(p);
  }

  private handleSnapshotResponse(from: string, m: InstallSnapshotResponse): void {
    const p = this.progress.get(from);
    if (!p) return;
    p.recentActive = true;
    p.lastHeard = this.now;
    p.retries = 0;
    p.unreachable = false;
    const t = p.snapshot;
    if (p.state !== 'snapshot' || !t || m.snapshotId !== t.id) return;
    if (m.success && m.nextOffset >= t.snap.data.length && m.snapshotIndex > 0) {
      p.snapshot = null;
      p.state = 'probe';
      p.paused = false;
      if (m.snapshotIndex > p.match) {
        p.match = m.snapshotIndex;
        p.matchSeq = this.readSeq; // every change of match moves it (the lost-log check)
      }
      p.next = p.match + 1;
      this.maybeCommit();
      if (this.role === 'leader') this.sendAppend(p);
      return;
    }
    // Only a different offset starts a new chunk: a refusal of a chunk the follower already has
    // (a heartbeat's copy) must not, or every heartbeat adds one more request/reply chain for the
    // rest of the transfer. A lost or damaged chunk is re-sent by the next heartbeat.
    if (m.nextOffset !== t.offset) {
      t.offset = Math.min(m.nextOffset, t.snap.data.length);
      this.sendSnapshotChunk(p);
    }
  }

  // ------------------------------------------------------------------ replication (follower)

  private handleAppend(from: string, m: AppendRequest): void {
    this.leaderId = from;
    this.noteLeaderContact();
    this.resetElectionDeadline();
    // A partial snapshot from an earlier leader will never be completed: release its chunks.
    if (this.incoming && (this.incoming.term !== m.term || this.incoming.leader !== from))
      this.incoming = null;
    const reply = (r: Omit<AppendResponse, 'type' | 'term' | 'readSeq'>) =>
      this.send(from, { type: 'AppendResponse', term: this.term, readSeq: m.readSeq, ...r });
    if (m.prevLogIndex < this.commit) {
      reply({
        success: true,
        matchIndex: this.commit,
        conflictIndex: 0,
        conflictTerm: 0,
        lastLogIndex: this.log.lastIndex(),
      });
      return;
    }
    const t = this.log.term(m.prevLogIndex);
    if (t !== m.prevLogTerm) {
      let conflictIndex: number;
      let conflictTerm: number;
      if (t === undefined) {
        conflictIndex = this.log.lastIndex() + 1;
        conflictTerm = 0;
      } else {
        conflictTerm = t;
        conflictIndex = this.log.firstIndexOfTermAt(m.prevLogIndex);
      }
      reply({
        success: false,
        matchIndex: m.prevLogIndex,
        conflictIndex,
        conflictTerm,
        lastLogIndex: this.log.lastIndex(),
      });
      return;
    }
    for (const e of m.entries) {
      const have = this.log.term(e.index);
      if (have === e.term) continue;
      if (have !== undefined) {
        if (e.index <= this.commit) throw new RaftInvariantError(`conflict at committed index ${e.index}`);
        this.log.truncateFrom(e.index);
        this.onTruncate(e.index);
      }
      const rest = m.entries.filter((x) => x.index >= e.index);
      this.log.append(rest);
      for (const x of rest) this.noteConfigEntry(x);
      break;
    }
    const lastNew = m.prevLogIndex + m.entries.length;
    const c = Math.min(m.leaderCommit, lastNew);
    if (c > this.commit) this.commit = c;
    reply({
      success: true,
      matchIndex: lastNew,
      conflictIndex: 0,
      conflictTerm: 0,
      lastLogIndex: this.log.lastIndex(),
    });
  }

  private handleInstallSnapshot(from: string, m: InstallSnapshotRequest): void {
    this.leaderId = from;
    this.noteLeaderContact();
    this.resetElectionDeadline();
    const reply = (nextOffset: number, success: boolean, snapshotIndex: number) => {
      const r: InstallSnapshotResponse = {
        type: 'InstallSnapshotResponse',
        term: this.term,
        snapshotId: m.snapshotId,
        nextOffset,
        success,
        snapshotIndex,
      };
      this.send(from, r);
    };
    if (m.meta.index <= this.commit) {
      // A late chunk of an old transfer must not throw away the one in progress.
      if (this.incoming?.id === m.snapshotId && this.incoming.leader === from) this.incoming = null;
      reply(m.totalSize, true, this.commit);
      return;
    }
    let inc = this.incoming;
    if (!inc || inc.term !== m.term || inc.id !== m.snapshotId || inc.leader !== from) {
      if (m.offset !== 0) {
        reply(0, false, 0);
        return;
      }
      inc = {
        term: m.term,
        id: m.snapshotId,
        leader: from,
        meta: m.meta,
        total: m.totalSize,
        chunks: [],
        received: 0,
      };
      this.incoming = inc;
    }
    if (m.offset !== inc.received || crc32(m.data) !== m.chunkCrc || m.offset + m.data.length > inc.total) {
      reply(inc.received, false, 0);
      return;
    }
    inc.chunks.push(m.data.slice());
    inc.received += m.data.length;
    if (inc.received < inc.total) {
      reply(inc.received, true, 0);
      return;
    }
    const data = new Uint8Array(inc.total);
    let off = 0;
    for (const c of inc.chunks) {
      data.set(c, off);
      off += c.length;
    }
    this.incoming = null;
    const meta = inc.meta;
    if (this.log.term(meta.index) === meta.term) {
      // We already hold the snapshot's last entry: keep the suffix, just commit up to it.
      this.commit = Math.max(this.commit, meta.index);
    } else {
      this.log.restore(meta.index, meta.term);
      this.baseConfig = cloneConfig(meta.config);
      this.configEntries = [];
      this.commit = meta.index;
      this.snapshot = { meta, data };
      this.pendingSnapshot = { meta, data };
    }
    reply(inc.total, true, meta.index);
  }

  // ------------------------------------------------------------------ step

  /**
   * Feeds one incoming message from `from`. Call `tick(now)` first so that the core's time is
   * current. Never throws on a well-typed message (stale and duplicate messages are ignored).
   */
  step(from: string, m: RaftMessage): void {
    if (m.term > this.term) {
      if (m.type === 'VoteRequest') {
        const inLease =
          (this.cfg.checkQuorum || m.isPreVote) &&
          ((this.leaderId !== null && this.now - this.lastLeaderContact < this.cfg.electionTimeoutMin) ||
            this.now < this.voteHoldUntil);
        if (!m.leadershipTransfer && inLease) return;
      }
      if (m.type === 'VoteRequest' && m.isPreVote) {
        // a pre-vote never changes our term
      } else if (m.type === 'VoteResponse' && m.isPreVote && m.granted) {
        // granted pre-votes carry the term the candidate asked for
      } else if (
        m.type === 'AppendRequest' ||
        m.type === 'InstallSnapshotRequest' ||
        m.type === 'TimeoutNow'
      ) {
        this.becomeFollower(m.term, m.leaderId, 'higher_term');
      } else {
        this.becomeFollower(m.term, null, 'higher_term');
      }
    } else if (m.term < this.term) {
      if (
        (this.cfg.checkQuorum || this.cfg.preVote) &&
        (m.type === 'AppendRequest' || m.type === 'InstallSnapshotRequest')
      ) {
        // Tell a stale leader about the newer term so it steps down.
        this.send(from, {
          type: 'AppendResponse',
          term: this.term,
          success: false,
          matchIndex: 0,
          conflictIndex: 0,
          conflictTerm: 0,
          lastLogIndex: this.log.lastIndex(),
          readSeq: 0,
        });
      } else if (m.type === 'VoteRequest' && m.isPreVote) {
        this.send(from, { type: 'VoteResponse', term: this.term, granted: false, isPreVote: true });
      }
      return;
    }

    switch (m.type) {
      case 'VoteRequest': {
        const held =
          !m.leadershipTransfer &&
          (this.cfg.checkQuorum || m.isPreVote) &&
          this.now < this.voteHoldUntil &&
          this.votedFor !== m.candidateId;
        const canVote =
          !held &&
          (this.votedFor === m.candidateId ||
            (this.votedFor === null && this.leaderId === null) ||
            (m.isPreVote && m.term > this.term));
        const grant =
          canVote &&
          !this.withholdsVoteFor(m.lastLogIndex, m.lastLogTerm) &&
          this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm) &&
          m.candidateId === from;
        if (grant && !m.isPreVote) {
          this.votedFor = m.candidateId;
          this.resetElectionDeadline();
        }
        const r: VoteResponse = {
          type: 'VoteResponse',
          term: grant ? m.term : this.term,
          granted: grant,
          isPreVote: m.isPreVote,
        };
        this.send(from, r);
        return;
      }
      case 'VoteResponse': {
        const want = m.isPreVote ? 'pre_candidate' : 'candidate';
        if (this.role !== want) return;
        if (m.isPreVote && m.granted && m.term !== this.term + 1) return;
        if (!isVoter(this.config(), from)) return;
        this.votes.set(from, m.granted);
        const res = voteResult(this.config(), this.votes);
        if (res === 'won') {
          if (m.isPreVote) this.campaign('real');
          else this.becomeLeader();
        }
        return;
      }
      case 'AppendRequest':
        if (this.role === 'leader')
          throw new RaftInvariantError(`two leaders in term ${this.term}: ${this.id} and ${from}`);
        if (this.role !== 'follower') this.becomeFollower(this.term, from, 'leader_seen');
        else if (this.leaderId !== from) this.fire('leader_seen');
        // The target is taken from the first append, and raised by an append of a later term: an
        // old frame (an earlier leader's, or one that waited in a send queue) may predate the
        // change that made this member a voter.
        if (this.joinCheck === 'pending' && (this.joinTarget === null || m.term > this.joinTargetTerm)) {
          // A fresh bootstrap also reaches to the end of this append: the leader sends from its
          // view of what this member holds, so an entry it acknowledged before its log was lost
          // and that commits only later (a slow acknowledgement elsewhere) lies below it, while
          // the commit index may not cover it yet. (A review lost such an entry.)
          const reach =
            this.freshStart === 'bootstrap'
              ? Math.max(m.leaderCommit, m.prevLogIndex + m.entries.length)
              : m.leaderCommit;
          this.joinTarget = Math.max(this.joinTarget ?? 0, reach);
          this.joinTargetTerm = m.term;
          this.noteCommittedPoint(this.joinTarget, m.term);
        }
        this.handleAppend(from, m);
        this.judgeJoin();
        return;
      case 'InstallSnapshotRequest':
        if (this.role === 'leader')
          throw new RaftInvariantError(`two leaders in term ${this.term}: ${this.id} and ${from}`);
        if (this.role !== 'follower') this.becomeFollower(this.term, from, 'leader_seen');
        this.noteCommittedPoint(m.meta.index, m.meta.term);
        this.handleInstallSnapshot(from, m);
        this.judgeJoin();
        return;
      case 'AppendResponse':
        if (this.role === 'leader') this.handleAppendResponse(from, m);
        return;
      case 'InstallSnapshotResponse':
        if (this.role === 'leader') this.handleSnapshotResponse(from, m);
        return;
      case 'TimeoutNow':
        if (this.role === 'leader') return;
        if (this.role !== 'follower') this.becomeFollower(this.term, from, 'leader_seen');
        if (isVoter(this.config(), this.id) && !this.withholdsCampaign()) this.campaign('transfer');
        return;
    }
  }

  // ------------------------------------------------------------------ ready / advance

  /** True when `ready()` has something for the driver. */
  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    this.flush();
    return (
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.pendingSnapshot !== null ||
      this.log.stableIndex < this.log.lastIndex() ||
      !sameHardState(this.persistedHardState(), this.prevHardState) ||
      this.committedToApply() > this.applied
    );
  }

  private persistedHardState(): HardState {
    const hs = this.hardState();
    if (this.cfg.unsafeForgetVote) hs.votedFor = null;
    return hs;
  }

  private committedToApply(): number {
    return Math.min(this.commit, this.log.lastIndex());
  }

  /** Takes the pending batch; see `Ready` for the processing contract. Call `advance` after. */
  ready(): Ready {
    if (this.readyOutstanding) throw new RaftInvariantError('ready() called before advance()');
    this.flush();
    this.readyOutstanding = true;
    const hs = this.persistedHardState();
    const rd: Ready = {
      entries: this.log.unstable(),
      messages: this.msgs,
      committedEntries: [],
      readStates: this.readStates,
      softState: { role: this.role, leaderId: this.leaderId, term: this.term },
    };
    if (!sameHardState(hs, this.prevHardState)) rd.hardState = hs;
    if (this.pendingSnapshot) rd.snapshot = this.pendingSnapshot;
    const from =
      Math.max(
        this.applied,
        this.pendingSnapshot ? this.pendingSnapshot.meta.index : 0,
        this.log.snapshotIndex,
      ) + 1;
    const to = this.committedToApply();
    if (to >= from) rd.committedEntries = this.log.slice(from, to + 1);
    this.msgs = [];
    this.readStates = [];
    return rd;
  }

  /** Acknowledges that `rd` was processed (persisted, sent, applied). */
  advance(rd: Ready): void {
    this.readyOutstanding = false;
    if (rd.hardState) this.prevHardState = rd.hardState;
    if (rd.snapshot) {
      if (this.pendingSnapshot === rd.snapshot) this.pendingSnapshot = null;
      if (rd.snapshot.meta.index > this.applied) this.applied = rd.snapshot.meta.index;
    }
    const n = rd.entries.length;
    let grewStable = false;
    if (n > 0) {
      const last = rd.entries[n - 1] as LogEntry;
      // Entries replaced while they were being persisted stay unstable (etcd's stableTo check).
      if (this.log.term(last.index) === last.term && last.index > this.log.stableIndex) {
        this.log.stableIndex = last.index;
        grewStable = true;
      }
    }
    const c = rd.committedEntries.length;
    if (c > 0) {
      const last = (rd.committedEntries[c - 1] as LogEntry).index;
      if (last > this.applied) this.applied = last;
    }
    // The leader's own entries just became durable: they may complete a quorum now (a single
    // member commits here, after its own persist).
    if (grewStable) this.maybeCommit();
  }
}

/** Creates the pure Raft core (see `Raft`). */
export function createRaft(config: RaftConfig): Raft {
  return new Raft(config);
}
