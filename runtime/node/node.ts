import {
  type ConfChange,
  DecodeError,
  decodeClusterConfig,
  decodeRaftMessage,
  ELECTION_TIMEOUT_MAX_MS,
  encodeRaftMessage,
  type HardState,
  type LogEntry,
  MAX_LOG_ENTRIES,
  MAX_SYNC_STALL_MS,
  type NodeRole,
  SNAPSHOT_INTERVAL,
  SNAPSHOT_LOG_PERCENT,
} from '../../generated/index.js';
import { isOutOfDescriptors } from '../env/fs-errors.js';
import type { Env, TimerHandle } from '../env/types.js';
import { ProposalRejected } from '../raft/errors.js';
import { createRaft, type Raft, type RaftConfig } from '../raft/raft.js';
import type { RaftStatus, Ready } from '../raft/types.js';
import { KvStateMachine, type StateMachine } from './kv-state-machine.js';
import type { LogStore } from './log-store.js';
import { SimpleLogStore } from './simple-log-store.js';

/**
 * A timer that fires this much later than it was due means the process was stalled (see
 * `onTimer`): a third of the shortest election timeout.
 */
const LATE_TIMER_MS = 50;

/** Node options beyond the core's (timeouts, pre-vote, limits: see `RaftConfig`). */
export interface NodeConfig
  extends Partial<Omit<RaftConfig, 'id' | 'peers' | 'random' | 'restored' | 'now'>> {
  /** Applied entries between two snapshots (default SNAPSHOT_INTERVAL); see `snapshotLogPercent`. */
  snapshotInterval?: number;
  /**
   * Write-amplification guard (default SNAPSHOT_LOG_PERCENT, 100): once `snapshotInterval` entries were applied, the next
   * snapshot still waits until the commands applied since the last one add up to this percentage
   * of that snapshot's size, or until half of `maxLogEntries` entries were applied, whichever comes
   * first. A large state with small writes is then not rewritten in full every interval. 0 takes a
   * snapshot every `snapshotInterval` entries regardless of sizes.
   */
  snapshotLogPercent?: number;
  /** A leader whose storage write stalls longer than this steps down (default MAX_SYNC_STALL_MS). */
  maxSyncStallMs?: number;
  /** TEST ONLY, breaks safety: send a Ready's messages before its entries and hard state are durable. */
  unsafeSendBeforePersist?: boolean;
}

/** Hooks for checkers and tracing; called synchronously, must not call back into the node. */
export interface NodeObserver {
  /** An entry was applied to the state machine (commands, no-ops and configurations). */
  onApply?(id: string, entry: LogEntry): void;
  /** A Ready's hard state and entries became durable. */
  onPersisted?(id: string, hardState: HardState | undefined, entries: readonly LogEntry[]): void;
  /** After every processed Ready: the role/term/commit as seen by this member. */
  onState?(
    id: string,
    status: { role: NodeRole; term: number; commit: number; leaderId: string | null },
  ): void;
  /** A role transition. */
  onRoleChange?(id: string, t: { from: NodeRole; to: NodeRole; event: string; term: number }): void;
  /** The core threw an invariant error (a bug; the node stops). */
  onError?(id: string, err: unknown): void;
}

/** Options of `createNode`. */
export interface CreateNodeOptions {
  id: string;
  /** Initial voters, including `id` (ignored when storage holds a configuration). */
  peers: readonly string[];
  env: Env;
  /** Directory inside `env.fs` for the log (default: the fs root). */
  dataDir?: string;
  config?: NodeConfig;
  stateMachine?: StateMachine;
  /** Storage behind the LogStore interface (default: SimpleLogStore on env.fs). */
  logStore?: LogStore;
  observer?: NodeObserver;
}

/** Result of a committed proposal. */
export interface ProposeResult {
  index: number;
  term: number;
  /** What the state machine's `apply` returned. */
  result: unknown;
}

/**
 * This member's copy of the proposal's entry was overwritten by another leader's entry. It will
 * not commit at this member's say-so, but a copy on another member may still be committed by a
 * later leader (Raft paper, figure 8), so the outcome is unknown, not failed.
 */
export class ProposalDropped extends Error {
  constructor(readonly index: number) {
    super(`proposal at index ${index} was superseded by another leader`);
    this.name = 'ProposalDropped';
  }
}

/**
 * The proposal may or may not commit (an indeterminate outcome, never a failure), because
 * - `snapshot`: its index was covered by a snapshot installed from the leader before it was
 *   applied here; or
 * - `leadership_lost`: this member stopped leading before it saw the entry committed, and knows
 *   no leader (or has not led for an election timeout). A later leader may still commit it, or
 *   overwrite it; this member cannot tell which soon (it may be cut off from the others), so the
 *   caller hears now and can retry elsewhere with the same exactly-once sequence number
 *   (hashicorp/raft's ErrLeadershipLost).
 */
export class ProposalIndeterminate extends Error {
  constructor(
    readonly index: number,
    readonly reason: 'snapshot' | 'leadership_lost' = 'snapshot',
  ) {
    super(
      reason === 'snapshot'
        ? `outcome of the proposal at index ${index} is unknown (covered by an installed snapshot)`
        : `outcome of the proposal at index ${index} is unknown: this member stopped leading before it committed`,
    );
    this.name = 'ProposalIndeterminate';
  }
}

/** The node was stopped. */
export class NodeStopped extends Error {
  constructor() {
    super('node stopped');
    this.name = 'NodeStopped';
  }
}

/** Counters and state reported by `status()`. */
export interface NodeStatus extends RaftStatus {
  framesDropped: number;
  messagesSent: number;
  messagesReceived: number;
  snapshotsTaken: number;
  /** Snapshots not taken because the process was out of file descriptors (retried later). */
  snapshotsSkipped: number;
  /** Times this member stepped down because its storage stalled. */
  syncStalls: number;
  /** Commands this member appended to the log as leader (`propose` accepted by the core). */
  proposals: number;
  /** `propose` calls the core refused (`ProposalRejected`: not the leader, backpressure, ...). */
  proposalsRejected: number;
}

interface Pending {
  term: number;
  resolve: (r: ProposeResult) => void;
  reject: (e: unknown) => void;
}

/**
 * A Raft member driven on an `Env`: one ticker timer re-armed at the core's next deadline, every
 * message through the generated codecs over `env.network` (malformed frames are dropped and
 * counted), persistence through a LogStore before any vote or acknowledgement of the same Ready is
 * sent (a leader's appends go out while its own save runs), and committed entries applied to the
 * state machine in order, after they are durable here.
 */
export class RaftNode {
  readonly id: string;
  /** The pure core (exposed for tests and checkers; do not drive it directly). */
  readonly raft: Raft;
  readonly stateMachine: StateMachine;
  private readonly env: Env;
  private readonly store: LogStore;
  private readonly observer: NodeObserver;
  private readonly snapshotInterval: number;
  private readonly snapshotLogPercent: number;
  /** Applied entries after which a snapshot is taken whatever the sizes (keeps the log bounded). */
  private readonly snapshotDeferLimit: number;
  /** Bytes of commands applied since the last snapshot. */
  private appliedBytesSinceSnapshot = 0;
  /** Size of the last snapshot taken, installed or started from (0 without one). */
  private lastSnapshotBytes = 0;
  private readonly unsafeSendBeforePersist: boolean;
  private timer: TimerHandle | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  /** The current timer was set by `onTimer` deferring a late firing (see there). */
  private lateTimerDeferred = false;
  private processing = false;
  private again = false;
  private stopped = false;
  private failed: unknown = null;
  private proposals = new Map<number, Pending>();
  /** Since when this member has not led (env clock), or null while it leads. */
  private notLeadingSince: number | null = null;
  /** How long a former leader that knows a leader waits for its proposals' outcome. */
  private readonly abandonAfterMs: number;
  private confChanges = new Map<number, Pending>();
  /**
   * Voter changes whose joint configuration (C_old,new) is applied: they resolve once a
   * configuration without outgoing voters is applied, so "done" means the change is complete and
   * the next one may start (Raft thesis 4.3).
   */
  private leavingJoint: { pending: Pending; result: ProposeResult }[] = [];
  /** Reads waiting for confirmation or apply, with the leader term they were issued in. */
  private reads = new Map<
    string,
    { resolve: (r: { index: number }) => void; reject: (e: unknown) => void; term: number }
  >();
  /** The term the unconfirmed reads were last checked against (see `onReady`). */
  private readsCheckedTerm = 0;
  private readyReads: { index: number; ctx: string }[] = [];
  private readCounter = 0;
  private lastSnapshotIndex: number;
  private counters = {
    framesDropped: 0,
    messagesSent: 0,
    messagesReceived: 0,
    snapshotsTaken: 0,
    snapshotsSkipped: 0,
    syncStalls: 0,
    proposals: 0,
    proposalsRejected: 0,
  };
  private readonly maxSyncStallMs: number;
  /** Start of the storage write in progress (null when none). */
  private saveStartedAt: number | null = null;
  /** The hard state last made durable (the core's restored one at start). */
  private durableHardState: HardState;
  /** The Ready loop while it runs (settles when it ends; never rejects). */
  private loopRun: Promise<void> = Promise.resolve();
  /** A local snapshot being written in the background (at most one; never rejects). */
  private snapshotRun: Promise<void> | null = null;
  /** The pause between two steps of a snapshot being serialised (see `yieldToLoop`). */
  private snapshotPause: { timer: TimerHandle; wake: () => void } | null = null;

  /** Use `createNode`. */
  constructor(
    opts: CreateNodeOptions,
    raft: Raft,
    store: LogStore,
    sm: StateMachine,
    restoredSnapshotBytes = 0,
  ) {
    this.id = opts.id;
    this.env = opts.env;
    this.raft = raft;
    this.store = store;
    this.stateMachine = sm;
    this.observer = opts.observer ?? {};
    this.snapshotInterval = opts.config?.snapshotInterval ?? SNAPSHOT_INTERVAL;
    this.snapshotLogPercent = opts.config?.snapshotLogPercent ?? SNAPSHOT_LOG_PERCENT;
    this.snapshotDeferLimit = Math.max(
      this.snapshotInterval,
      Math.floor((opts.config?.maxLogEntries ?? MAX_LOG_ENTRIES) / 2),
    );
    this.unsafeSendBeforePersist = opts.config?.unsafeSendBeforePersist ?? false;
    this.maxSyncStallMs = opts.config?.maxSyncStallMs ?? MAX_SYNC_STALL_MS;
    this.abandonAfterMs = opts.config?.electionTimeoutMax ?? ELECTION_TIMEOUT_MAX_MS;
    this.lastSnapshotIndex = raft.log.snapshotIndex;
    this.lastSnapshotBytes = restoredSnapshotBytes;
    this.durableHardState = raft.hardState();
    this.env.network.onReceive((from, frame) => this.onFrame(from, frame));
    this.kick();
  }

  /** Steps one frame; false (the network then drops that connection) when it does not decode. */
  private onFrame(from: string, frame: Uint8Array): boolean {
    if (this.stopped) return true;
    let msg: ReturnType<typeof decodeRaftMessage>;
    try {
      msg = decodeRaftMessage(frame);
    } catch (e) {
      // A malformed or hostile frame is dropped and counted; anything but a DecodeError is a bug
      // in the codec, still never allowed to take the member down.
      this.counters.framesDropped++;
      if (!(e instanceof DecodeError)) this.observer.onError?.(this.id, e);
      return false;
    }
    this.counters.messagesReceived++;
    this.guard(() => {
      // Time moves, timeouts wait for the timer: after a stall of this process (a slow disk, a long
      // GC), the frames that arrived meanwhile are read before the election timer can fire.
      this.raft.advanceClock(this.env.clock.now());
      this.raft.step(from, msg);
    });
    this.kick();
    return true;
  }

  private guard(fn: () => void): void {
    if (this.failed) return;
    try {
      fn();
    } catch (e) {
      if (e instanceof ProposalRejected) throw e;
      this.failed = e;
      this.observer.onError?.(this.id, e);
      this.stop();
    }
  }

  private onTimer(): void {
    const due = this.timerAt;
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    const now = this.env.clock.now();
    // Fired late on a member that is not leading: this process was stalled, and Node runs timers
    // before it reads the sockets, so the leader's heartbeats from meanwhile are still unread. Let
    // one poll phase go first (a timer set now runs after it); the next firing ticks whatever is
    // then due. A leader is not deferred: its heartbeats are what the others are waiting for.
    if (now - due > LATE_TIMER_MS && !this.lateTimerDeferred && this.raft.role !== 'leader') {
      this.lateTimerDeferred = true;
      this.timerAt = now + 1;
      this.timer = this.env.clock.setTimer(1, () => this.onTimer());
      return;
    }
    this.lateTimerDeferred = false;
    this.guard(() => this.raft.tick(now));
    if (
      this.saveStartedAt !== null &&
      now - this.saveStartedAt > this.maxSyncStallMs &&
      this.raft.role === 'leader'
    ) {
      // Storage stalled: a leader that cannot persist cannot make progress; let another lead.
      this.counters.syncStalls++;
      this.raft.stepDown();
    }
    // While a Ready is being persisted the loop cannot re-arm the ticker: keep ticking meanwhile.
    if (this.processing) this.armTimer();
    this.kick();
  }

  private armTimer(): void {
    if (this.stopped) return;
    const at = this.raft.nextDeadline();
    // A timer due no later than `at` stays: `tick` acts only on deadlines that have passed, and the
    // loop re-arms after it. Followers push their election deadline at every append, and moving the
    // timer each time cost a clearTimeout + setTimeout per entry.
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) this.env.clock.clearTimer(this.timer);
    const now = this.env.clock.now();
    this.timerAt = at;
    this.timer = this.env.clock.setTimer(Math.max(1, Math.ceil(at - now)), () => this.onTimer());
  }

  /** Starts (or re-runs) the Ready loop; one loop at a time. */
  private kick(): void {
    if (this.stopped) return;
    this.abandonIfNotLeading();
    if (this.processing) {
      this.again = true;
      return;
    }
    this.processing = true;
    this.loopRun = this.loop().catch((e) => {
      // A write cut short by stop() is not a failure of a running member.
      if (!this.stopped) this.fail(e);
    });
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && this.raft.hasReady()) {
          const rd = this.raft.ready();
          await this.handleReady(rd);
          if (this.stopped) return;
          this.raft.advance(rd);
          this.afterAdvance();
          this.maybeSnapshot();
        }
      } while (this.again && !this.stopped);
    } finally {
      this.processing = false;
    }
    this.armTimer();
  }

  private async handleReady(rd: Ready): Promise<void> {
    // Leader-to-follower messages go out while the leader's own save runs (Raft thesis 10.2.1):
    // the core counts the leader toward commit only once `advance` reports its entries durable.
    // Everything else (votes, acknowledgements) waits for the save.
    const early = this.unsafeSendBeforePersist ? rd.messages : this.sendableBeforePersist(rd);
    const late = early.length === rd.messages.length ? [] : rd.messages.filter((m) => !early.includes(m));
    this.send(early);
    // They leave before this batch's records are encoded: at once where the transport can flush,
    // else in the microtask it writes them in.
    if (early.length > 0 && !this.flushSent()) await Promise.resolve();
    if (this.stopped) return;
    this.saveStartedAt = this.env.clock.now();
    if (rd.snapshot) {
      // A leader's snapshot replaces the log: never concurrently with a local snapshot's writes.
      // One still being serialised is obsolete (the core holds the leader's, which covers it):
      // it ends at once rather than after its remaining steps.
      this.endSnapshotPause();
      if (this.snapshotRun) await this.snapshotRun;
      await this.store.saveSnapshot(rd.snapshot, true);
    }
    if (rd.entries.length > 0 || rd.hardState) {
      // Completed here when the store can (a follower's WAL written on this thread): its
      // acknowledgement then leaves at once, not after this event-loop turn.
      const saving = this.store.saveNow
        ? this.store.saveNow(rd.hardState, rd.entries)
        : this.store.save(rd.hardState, rd.entries);
      if (saving) await saving;
    }
    this.saveStartedAt = null;
    if (this.stopped) return;
    if (rd.hardState) this.durableHardState = rd.hardState;
    this.observer.onPersisted?.(this.id, rd.hardState, rd.entries);
    // Contract: entries and hard state are durable BEFORE the other messages are sent.
    this.send(late);
    // The acknowledgements leave now, before anything is applied: the leader is waiting for them,
    // while nobody waits for a follower's apply. Without a flush, the transport's microtask writes
    // them; let it run first when there is something to apply.
    if (late.length > 0 && !this.flushSent() && rd.committedEntries.length > 0) {
      await Promise.resolve();
      if (this.stopped) return;
    }
    if (rd.snapshot) {
      // A large snapshot is decoded in steps, the event loop running between them (heartbeats are
      // still stepped into the core, /health answers); nothing is applied until it is in place.
      const steps = this.stateMachine.restoreSteps?.(rd.snapshot.data);
      if (!steps) this.stateMachine.restore(rd.snapshot.data);
      else if (!(await this.runSteps(steps, () => false))) return;
      if (rd.snapshot.meta.config.votersOutgoing.length === 0) this.jointLeft();
      this.lastSnapshotIndex = rd.snapshot.meta.index;
      this.lastSnapshotBytes = rd.snapshot.data.length;
      this.appliedBytesSinceSnapshot = 0;
    }
    for (const e of rd.committedEntries) this.apply(e);
    for (const r of rd.readStates) this.readyReads.push(r);
    const s = rd.softState;
    this.abandonIfNotLeading();
    const termChanged = this.raft.term !== this.readsCheckedTerm;
    this.readsCheckedTerm = this.raft.term;
    if ((s.role !== 'leader' || termChanged) && this.reads.size > this.readyReads.length) {
      // Leadership was lost (maybe regained in a later term since the last Ready): the core
      // dropped the reads still waiting for a quorum's confirmation, they will never get it.
      const confirmed = new Set(this.readyReads.map((r) => r.ctx));
      for (const [ctx, w] of this.reads) {
        if (confirmed.has(ctx) || (s.role === 'leader' && w.term === this.raft.term)) continue;
        this.reads.delete(ctx);
        w.reject(
          new ProposalRejected(
            'not_leader',
            `${this.id} lost leadership before the read was confirmed`,
            s.leaderId,
          ),
        );
      }
    }
    this.observer.onState?.(this.id, {
      role: s.role,
      term: s.term,
      leaderId: s.leaderId,
      commit: this.raft.commit,
    });
  }

  /**
   * The messages of `rd` that may be sent before its save completes: the leader's appends,
   * snapshot chunks and TimeoutNow, and only when the Ready changes neither the term nor the vote
   * (those messages claim a leadership whose term must already be durable). A leader's own
   * unsaved entries in them are safe: the core does not count itself for them until durable, so a
   * crash that loses them loses only uncommitted entries.
   */
  private sendableBeforePersist(rd: Ready): Ready['messages'] {
    if (rd.snapshot) return [];
    const hs = rd.hardState;
    const d = this.durableHardState;
    if (hs && (hs.term !== d.term || hs.votedFor !== d.votedFor)) return [];
    return rd.messages.filter(
      (m) =>
        (m.message.type === 'AppendRequest' ||
          m.message.type === 'InstallSnapshotRequest' ||
          m.message.type === 'TimeoutNow') &&
        m.message.term === d.term,
    );
  }

  /**
   * Makes the messages sent so far leave now, through the transport's `flush`: true. False when
   * the transport has none: they leave in the microtask it writes them in, which the caller lets
   * run by awaiting one.
   */
  private flushSent(): boolean {
    const net = this.env.network;
    if (!net.flush) return false;
    net.flush();
    return true;
  }

  private send(messages: Ready['messages']): void {
    for (const m of messages) {
      this.counters.messagesSent++;
      this.env.network.send(m.to, encodeRaftMessage(m.message));
    }
  }

  private apply(e: LogEntry): void {
    let result: unknown;
    if (e.entryType === 'command') {
      result = this.stateMachine.apply(e.command, e.index);
      this.appliedBytesSinceSnapshot += e.command.length;
    }
    this.observer.onApply?.(this.id, e);
    const joint =
      e.entryType === 'configuration' ? decodeClusterConfig(e.command).votersOutgoing.length > 0 : null;
    for (const map of [this.proposals, this.confChanges]) {
      const p = map.get(e.index);
      if (!p) continue;
      map.delete(e.index);
      if (p.term !== e.term) p.reject(new ProposalDropped(e.index));
      else if (joint === true)
        this.leavingJoint.push({ pending: p, result: { index: e.index, term: e.term, result } });
      else p.resolve({ index: e.index, term: e.term, result });
    }
    if (joint === false) this.jointLeft();
  }

  /**
   * This member no longer leads: what it proposed and has not seen committed ends as
   * indeterminate now if it knows no leader (check quorum deposed it, it is cut off, an election
   * is on), or once it has not led for an election timeout (a new leader it hears but that never
   * hears it). It would otherwise wait for an outcome it may not learn while it stays cut off.
   * A member that knows the new leader waits that long first: after a transfer the outcome is a
   * round trip away. Entries up to the commit index are left to the local apply, which settles
   * them with their result, unless this member's own log save has been stuck for an election
   * timeout (a hung disk: the apply waits for it, while the new leader has committed them and its
   * exactly-once table answers a retry with the result). Voter changes whose joint configuration is applied keep waiting
   * (`leavingJoint`): they are committed. Checked at every Ready and every kick, since a
   * check-quorum step-down alone (same term, no messages) makes no Ready.
   */
  private abandonIfNotLeading(): void {
    if (this.raft.role === 'leader') {
      this.notLeadingSince = null;
      return;
    }
    const now = this.env.clock.now();
    this.notLeadingSince ??= now;
    if (this.proposals.size + this.confChanges.size === 0) return;
    if (this.raft.leaderId !== null && now - this.notLeadingSince < this.abandonAfterMs) return;
    const saveStuck = this.saveStartedAt !== null && now - this.saveStartedAt >= this.abandonAfterMs;
    const commit = saveStuck ? 0 : this.raft.commit;
    for (const map of [this.proposals, this.confChanges])
      for (const [index, p] of map) {
        if (index <= commit) continue;
        map.delete(index);
        p.reject(new ProposalIndeterminate(index, 'leadership_lost'));
      }
  }

  /** A configuration without outgoing voters is applied: the voter changes waiting for it are done. */
  private jointLeft(): void {
    const done = this.leavingJoint;
    this.leavingJoint = [];
    for (const w of done) w.pending.resolve(w.result);
  }

  private afterAdvance(): void {
    const applied = this.raft.applied;
    if (this.readyReads.length > 0) {
      const keep: { index: number; ctx: string }[] = [];
      for (const r of this.readyReads) {
        const w = this.reads.get(r.ctx);
        if (!w) continue;
        if (r.index <= applied) {
          this.reads.delete(r.ctx);
          w.resolve({ index: r.index });
        } else keep.push(r);
      }
      this.readyReads = keep;
    }
    // A proposal whose slot now holds another term's entry (or was truncated away) never commits.
    const log = this.raft.log;
    for (const map of [this.proposals, this.confChanges]) {
      for (const [index, p] of map) {
        if (index <= log.snapshotIndex && index <= applied) {
          map.delete(index);
          p.reject(new ProposalIndeterminate(index));
          continue;
        }
        const t = log.term(index);
        if ((t !== undefined && t !== p.term) || (index > log.lastIndex() && this.raft.term > p.term)) {
          map.delete(index);
          p.reject(new ProposalDropped(index));
        }
      }
    }
  }

  /**
   * Takes a local snapshot every `snapshotInterval` applied entries, deferred by the
   * write-amplification guard (`snapshotLogPercent`): with 10,000 keys of 128 bytes every
   * snapshot is 1.9 MB while 1,000 puts add 0.2 MB of log, and writing and syncing the whole state
   * each time cost 12-23% of the throughput with 64 requests in flight. The state is captured
   * synchronously (so it is exactly the state at `applied`); writing it, recording it in the log
   * and compacting run in the background, one at a time, so the Ready loop keeps replicating and
   * committing meanwhile (a multi-megabyte snapshot write and its fsyncs used to stall every
   * member for milliseconds). Entries are removed from storage only after the snapshot is durable.
   */
  private maybeSnapshot(): void {
    if (this.snapshotRun || this.stopped) return;
    const applied = this.raft.applied;
    const since = applied - this.lastSnapshotIndex;
    if (since < this.snapshotInterval) return;
    if (
      since < this.snapshotDeferLimit &&
      this.appliedBytesSinceSnapshot * 100 < this.lastSnapshotBytes * this.snapshotLogPercent
    )
      return;
    // A leader's snapshot installed in the core but not yet persisted already covers `applied`:
    // the core would hand back its (higher) metadata, which must never label our older state.
    if (applied <= this.raft.log.snapshotIndex) return;
    this.appliedBytesSinceSnapshot = 0;
    this.lastSnapshotIndex = applied;
    // The state at `applied` is captured now; a machine with `snapshotSteps` is serialised in steps,
    // yielding to the event loop between them, so a large state does not stop heartbeats,
    // replication and client traffic (115 MB took 0.75 s in one piece).
    const steps = this.stateMachine.snapshotSteps?.() ?? null;
    const whole = steps ? null : this.stateMachine.snapshot();
    this.snapshotRun = (async () => {
      // A leader's snapshot installed meanwhile covers `applied`: ours is obsolete, and the Ready
      // that persists the leader's waits for this run to end.
      const data = steps
        ? ((await this.runSteps(steps, () => applied <= this.raft.log.snapshotIndex))?.value ?? null)
        : whole;
      if (data === null || applied <= this.raft.log.snapshotIndex) return;
      const { meta } = this.raft.createSnapshot(applied, data);
      this.counters.snapshotsTaken++;
      this.lastSnapshotBytes = data.length;
      // The core may keep entries that followers still need: compact storage only as far as the
      // core did now (a leader's snapshot installed while this one is written must not move the mark).
      const compactTo = Math.min(meta.index, this.raft.log.snapshotIndex);
      await this.store.saveSnapshot({ meta, data }, false);
      await this.store.compact(compactTo);
    })()
      .catch((e) => {
        // Out of file descriptors: skipped, taken again after the next interval of entries.
        if (isOutOfDescriptors(e)) {
          this.counters.snapshotsSkipped++;
          return;
        }
        if (!this.stopped) this.fail(e);
      })
      .finally(() => {
        this.snapshotRun = null;
        // Applied entries may have crossed the next interval while this one was written.
        if (!this.stopped) this.kick();
      });
  }

  /**
   * Runs `steps` to its end, pausing (`yieldToLoop`) between two steps; resolves with its value,
   * or null once the node stopped or `abandon()` says so after a pause.
   */
  private async runSteps<T>(
    steps: Iterator<void, T, void>,
    abandon: () => boolean,
  ): Promise<{ value: T } | null> {
    for (let r = steps.next(); ; r = steps.next()) {
      if (r.done) return { value: r.value };
      await this.yieldToLoop();
      if (this.stopped || abandon()) return null;
    }
  }

  /**
   * The pause between two snapshot steps (a local snapshot serialised, a leader's restored): lets
   * timers and I/O run. 1 ms of the env's clock (what Node makes of a zero-delay timer anyway), so
   * that in a simulated world, too, time passes between the steps.
   */
  private yieldToLoop(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.snapshotPause = null;
        resolve();
      };
      this.snapshotPause = { timer: this.env.clock.setTimer(1, wake), wake };
    });
  }

  /** Ends the pause between two snapshot steps now (the run then checks whether to go on). */
  private endSnapshotPause(): void {
    if (!this.snapshotPause) return;
    this.env.clock.clearTimer(this.snapshotPause.timer);
    this.snapshotPause.wake();
  }

  private fail(e: unknown): void {
    if (this.failed) return;
    this.failed = e;
    this.observer.onError?.(this.id, e);
    this.stop();
  }

  // ------------------------------------------------------------------ public API

  /**
   * Proposes a command; resolves once it is applied (with the state machine's result). Rejects at
   * once with ProposalRejected (`not_leader` with the leader's id, `backpressure`, ...), or later
   * with ProposalDropped when another leader overwrote it.
   */
  propose(command: Uint8Array): Promise<ProposeResult> {
    if (this.stopped) return Promise.reject(new NodeStopped());
    let r: { index: number; term: number };
    try {
      r = this.raft.propose(command);
    } catch (e) {
      if (e instanceof ProposalRejected) this.counters.proposalsRejected++;
      return Promise.reject(e);
    }
    this.counters.proposals++;
    const p = new Promise<ProposeResult>((resolve, reject) =>
      this.proposals.set(r.index, { term: r.term, resolve, reject }),
    );
    this.kick();
    return p;
  }

  /**
   * Resolves when the local state machine may be read at the requested consistency: `stale` at
   * once; `linearizable` after a ReadIndex round; `lease` within the leader's lease (falls back to
   * ReadIndex). Resolves with the index the state machine has applied at least up to.
   */
  read(consistency: 'linearizable' | 'lease' | 'stale' = 'linearizable'): Promise<{ index: number }> {
    if (this.stopped) return Promise.reject(new NodeStopped());
    if (consistency === 'stale') return Promise.resolve({ index: this.raft.applied });
    // The lease MUST be judged at the current time: a partitioned leader's next timer may be a
    // heartbeat interval away, so a leader ticks (check quorum may depose it first). Any other
    // member only moves its clock: after a stall its election timeout must not act before the
    // heartbeats waiting in its socket are read (see `onTimer`).
    const now = this.env.clock.now();
    this.guard(() => (this.raft.role === 'leader' ? this.raft.tick(now) : this.raft.advanceClock(now)));
    if (this.stopped) return Promise.reject(new NodeStopped());
    const ctx = `${this.id}:${++this.readCounter}`;
    try {
      this.raft.readIndex(ctx, { lease: consistency === 'lease' });
    } catch (e) {
      return Promise.reject(e);
    }
    const term = this.raft.term;
    const p = new Promise<{ index: number }>((resolve, reject) =>
      this.reads.set(ctx, { resolve, reject, term }),
    );
    this.kick();
    return p;
  }

  /** Hands leadership to `target` (resolves once requested; watch `status()` for the outcome). */
  transferLeadership(target: string): void {
    this.raft.transferLeadership(target);
    this.kick();
  }

  /**
   * Proposes a membership change; resolves once it is complete: its entry is applied and, for a
   * voter change, so is the configuration that leaves the joint one (the leader appends it by
   * itself), so another change can follow at once.
   */
  changeMembership(cc: ConfChange): Promise<ProposeResult> {
    if (this.stopped) return Promise.reject(new NodeStopped());
    let r: { index: number; term: number };
    try {
      r = this.raft.proposeConfChange(cc);
    } catch (e) {
      return Promise.reject(e);
    }
    const p = new Promise<ProposeResult>((resolve, reject) =>
      this.confChanges.set(r.index, { term: r.term, resolve, reject }),
    );
    this.kick();
    return p;
  }

  /** This member's role now (cheap; `status()` builds the whole picture). */
  get role(): NodeRole {
    return this.raft.role;
  }

  /** The leader this member knows of, or null (cheap; see `role`). */
  get leaderId(): string | null {
    return this.raft.leaderId;
  }

  /** Role, term, indexes, membership, progress and counters. */
  status(): NodeStatus {
    return { ...this.raft.status(), ...this.counters };
  }

  /** The error that stopped the node, if any. */
  get error(): unknown {
    return this.failed;
  }

  /**
   * Resolves once no storage write started by this member is still running (the Ready loop's save
   * and a background snapshot). Close the LogStore only after `stop()` and then this.
   */
  async idle(): Promise<void> {
    for (;;) {
      const running = [this.loopRun, this.snapshotRun];
      await Promise.all(running);
      if (running[0] === this.loopRun && running[1] === this.snapshotRun) return;
    }
  }

  /** Stops timers and message handling; pending calls reject with NodeStopped. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) this.env.clock.clearTimer(this.timer);
    this.timer = null;
    // A snapshot between two steps ends now (it checks `stopped`), not at a timer a stopped
    // world may never fire.
    this.endSnapshotPause();
    const err = new NodeStopped();
    for (const p of this.proposals.values()) p.reject(err);
    for (const p of this.confChanges.values()) p.reject(err);
    for (const w of this.leavingJoint) w.pending.reject(err);
    for (const r of this.reads.values()) r.reject(err);
    this.proposals.clear();
    this.confChanges.clear();
    this.leavingJoint = [];
    this.reads.clear();
  }
}

/**
 * Starts a member on `env`: loads the log store, restores the state machine from the latest
 * snapshot, then runs. Resolves once the member is running.
 */
export async function createNode(opts: CreateNodeOptions): Promise<RaftNode> {
  const store = opts.logStore ?? new SimpleLogStore(opts.env.fs, opts.dataDir ?? '');
  const sm = opts.stateMachine ?? new KvStateMachine();
  const loaded = await store.load();
  if (loaded.snapshot) sm.restore(loaded.snapshot.data);
  const fresh = loaded.hardState.term === 0 && loaded.entries.length === 0 && !loaded.snapshot;
  const {
    snapshotInterval: _si,
    snapshotLogPercent: _sl,
    unsafeSendBeforePersist: _u,
    maxSyncStallMs: _m,
    ...raftCfg
  } = opts.config ?? {};
  const obs = opts.observer;
  const raft = createRaft({
    ...raftCfg,
    id: opts.id,
    peers: opts.peers,
    random: () => opts.env.random(),
    now: opts.env.clock.now(),
    restored: fresh ? undefined : loaded,
    onRoleChange: obs?.onRoleChange ? (t) => obs.onRoleChange?.(opts.id, t) : raftCfg.onRoleChange,
  });
  return new RaftNode(opts, raft, store, sm, loaded.snapshot?.data.length ?? 0);
}
