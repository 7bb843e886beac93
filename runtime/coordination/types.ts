/**
 * Command, result and event types of the coordination state machine.
 *
 * The command shapes are exactly the generated `CommandMessage` union (spec group `command`,
 * camelCase fields, `type` discriminant), so a decoded log entry is passed through unchanged.
 * `KvCompact` is an in-process extension (not yet in the spec; see the report/README) used for
 * tombstone collection.
 */

/** One actor's counter in a version vector (wire form). */
export interface VersionVectorEntry {
  actor: string;
  counter: number;
}

/** A version vector (wire form): at most VECTOR_CLOCK_MAX_ENTRIES entries, sorted by actor. */
export interface VersionVector {
  entries: VersionVectorEntry[];
}

/** Opens a session. `ttlMs` 0 means SESSION_TTL_MS. */
export interface SessionOpen { type: 'SessionOpen'; sessionId: string; clientId: string; ttlMs: number }
/** Restores a session's remaining TTL to its full TTL. */
export interface SessionKeepAlive { type: 'SessionKeepAlive'; sessionId: string }
/** Ends a session: its locks are released (no lock delay), its waits cancelled. */
export interface SessionClose { type: 'SessionClose'; sessionId: string }
/** The leader's expiry decision: like close, but held locks count as expired (lock delay applies). */
export interface SessionExpire { type: 'SessionExpire'; sessionId: string }
/** Committed elapsed time; the only way time passes inside the state machine. */
export interface TimeAdvance { type: 'TimeAdvance'; elapsedMs: number }
/** Acquire or queue for a lock. `ttlMs` 0: LOCK_LEASE_TIMEOUT_MS; `waitMs` 0: wait until the session ends. */
export interface LockAcquire {
  type: 'LockAcquire'; sessionId: string; name: string; requestId: string; ttlMs: number; waitMs: number; tryOnly: boolean;
}
/** Release one level of a held lock; with `fenceToken` 0n, cancel this session's queued request instead. */
export interface LockRelease { type: 'LockRelease'; sessionId: string; name: string; fenceToken: bigint }
/** Extend a held lock's lease by its TTL from now. */
export interface LockRenew { type: 'LockRenew'; sessionId: string; name: string; fenceToken: bigint }
/** Arrive at (and create on first arrival) a barrier. `timeoutMs` 0: BARRIER_TIMEOUT_MS. */
export interface BarrierArrive {
  type: 'BarrierArrive'; sessionId: string; name: string; participants: number; threshold: number; timeoutMs: number;
}
/** Leave a barrier before release: the arrival is withdrawn and the barrier needs one participant fewer. */
export interface BarrierLeave { type: 'BarrierLeave'; sessionId: string; name: string }
/** Campaign in a named election. */
export interface ElectionCampaign { type: 'ElectionCampaign'; sessionId: string; name: string; value: Uint8Array }
/** Resign leadership (epoch of the leadership) or withdraw a candidacy (epoch 0n). */
export interface ElectionResign { type: 'ElectionResign'; sessionId: string; name: string; epoch: bigint }
/** Write a value based on `context`. */
export interface KvPut { type: 'KvPut'; key: string; value: Uint8Array; context: VersionVector; actor: string }
/** Delete a key based on `context` (leaves a tombstone). */
export interface KvDelete { type: 'KvDelete'; key: string; context: VersionVector; actor: string }

/** The spec's command group, as generated. */
export type CommandMessage =
  | SessionOpen | SessionKeepAlive | SessionClose | SessionExpire | TimeAdvance
  | LockAcquire | LockRelease | LockRenew | BarrierArrive | BarrierLeave
  | ElectionCampaign | ElectionResign | KvPut | KvDelete;

/**
 * Extension: collect tombstones of deletes applied at or below `appliedFloor`, the lowest applied
 * index over every current member (computed by the leader from match indexes, then committed).
 */
export interface KvCompact { type: 'KvCompact'; appliedFloor: number }

/** Everything `applyCommand` accepts. */
export type CoordinationCommand = CommandMessage | KvCompact;

/** The outcome of one command (the spec's `CommandResult`, group `result`). */
export interface CommandResult {
  type: 'CommandResult';
  ok: boolean;
  /** Stable code (see `errors.ts`), '' when ok. */
  errorCode: string;
  message: string;
  /** Lock: the fence token of the holder (0n when not granted). */
  fenceToken: bigint;
  /** Election: the leadership epoch; barrier: the generation. */
  epoch: bigint;
  value: Uint8Array | null;
  context: VersionVector;
  siblings: Uint8Array[];
  /** What happened, e.g. `acquired`, `queued`, `released`, `satisfied`, `waiting`, `elected`. */
  outcome: string;
  /** Barrier: who arrived (session ids, arrival order). */
  arrived: string[];
  /** Queue position (1-based) when queued, re-entrancy depth when a lock is held. */
  position: number;
}

/** How a barrier generation ended. */
export type BarrierOutcome = 'satisfied' | 'timed_out' | 'cancelled';

/**
 * Notifications produced by an apply (the same on every replica, in the same order). They are not
 * state: a waiter registry turns them into resolved promises.
 */
export type CoordinationEvent =
  | { kind: 'lock_granted'; index: number; name: string; sessionId: string; requestId: string; fenceToken: bigint }
  | { kind: 'lock_wait_ended'; index: number; name: string; sessionId: string; requestId: string; reason: 'wait_timeout' | 'session_lost' | 'cancelled' }
  | { kind: 'lock_lost'; index: number; name: string; sessionId: string; requestId: string; fenceToken: bigint; reason: 'lease_expired' | 'session_lost' | 'released' }
  | { kind: 'barrier_released'; index: number; name: string; generation: bigint; outcome: BarrierOutcome; arrived: string[] }
  | { kind: 'barrier_wait_cancelled'; index: number; name: string; generation: bigint; sessionId: string }
  | { kind: 'election_leader'; index: number; name: string; sessionId: string | null; value: Uint8Array | null; epoch: bigint }
  | { kind: 'campaign_aborted'; index: number; name: string; sessionId: string; reason: 'session_lost' | 'withdrawn' }
  | { kind: 'session_ended'; index: number; sessionId: string; reason: 'closed' | 'expired' };
