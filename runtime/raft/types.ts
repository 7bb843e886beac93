import type {
  ClusterConfig,
  HardState,
  LogEntry,
  NodeRole,
  RaftMessage,
  SnapshotMeta,
} from '../../generated/index.js';

/** A snapshot as the core sees it: where it ends and the state machine's opaque bytes. */
export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

/** What a restarted member recovered from its durable storage. */
export interface RestoredState {
  hardState: HardState;
  /** Entries after the snapshot (entries at or below the snapshot index are ignored). */
  entries: LogEntry[];
  snapshot: Snapshot | null;
}

/** An outgoing message. */
export interface Outbound {
  to: string;
  message: RaftMessage;
}

/** A linearizable read that may be served once the state machine has applied `index`. */
export interface ReadState {
  index: number;
  ctx: string;
}

/** Volatile state, reported for observation (not persisted). */
export interface SoftState {
  role: NodeRole;
  leaderId: string | null;
  term: number;
}

/**
 * One batch of work for the driver. Processing order is part of the contract:
 * 1. persist `snapshot` (if any), then `entries` and `hardState`, durably (fsync) — entries and hard
 *    state MUST be saved BEFORE messages are sent (a vote or an acknowledgement that is sent and
 *    then forgotten in a crash breaks safety);
 * 2. send `messages`;
 * 3. restore `snapshot` into the state machine (if any), then apply `committedEntries` in order and
 *    serve `readStates` once applied up to their index;
 * 4. call `advance(ready)`. Only one Ready is outstanding at a time.
 */
export interface Ready {
  /** Present when term, vote or commit changed since the last Ready. */
  hardState?: HardState;
  /** Entries to persist; they replace any stored entries at or after `entries[0].index`. */
  entries: LogEntry[];
  /** A snapshot received from the leader; persist it and restore the state machine from it. */
  snapshot?: Snapshot;
  /** Messages to send after persisting. */
  messages: Outbound[];
  /** Committed entries to apply in order. */
  committedEntries: LogEntry[];
  readStates: ReadState[];
  softState: SoftState;
}

/** Replication state of one follower as seen by the leader. */
export interface ProgressView {
  id: string;
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  /** MAX_RETRIES_PER_APPEND probes went unanswered; the peer is in probe mode until it answers. */
  unreachable: boolean;
  /**
   * A message from the peer arrived within electionTimeoutMin (on a leader; what the membership
   * guard counts as live). False for a peer not heard from since this member became leader.
   */
  live: boolean;
  inflight: number;
  inflightBytes: number;
}

/** Observable state of the core. */
export interface RaftStatus {
  id: string;
  term: number;
  votedFor: string | null;
  role: NodeRole;
  leaderId: string | null;
  commitIndex: number;
  appliedIndex: number;
  firstIndex: number;
  lastIndex: number;
  lastTerm: number;
  snapshotIndex: number;
  config: ClusterConfig;
  progress: ProgressView[];
  transferee: string | null;
  /** For a member started with `freshJoin` or `freshBootstrap`: see `JoinCheck`; null otherwise. */
  joinCheck: JoinCheck | null;
  /**
   * While the join check is pending: the commit index of the first append received, raised by an
   * append of a later term (null before any). Each value MUST be made durable before the member
   * acknowledges anything (`RaftConfig.joinTarget`).
   */
  joinTarget: number | null;
  /** The term of the append the target came from (0: unknown); null without a target. */
  joinTargetTerm: number | null;
}

/**
 * A member that started on an empty data dir to join: 'pending' until the first configuration
 * naming it arrives, 'ok' when it came as a newcomer, 'lost_log' when that configuration already
 * counted it as a voter (its data dir was emptied): it then never votes. One that started on an
 * empty data dir with the static member list (`freshBootstrap`): 'pending' until it has caught up
 * with what the cluster had committed when it came, then 'ok'.
 */
export type JoinCheck = 'pending' | 'ok' | 'lost_log';
