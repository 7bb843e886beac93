/**
 * Command, result and event types of the coordination state machine.
 *
 * Commands and results are the generated types (spec groups `command` and `result`), so a decoded
 * log entry is applied unchanged.
 * `KvCompact` (tombstone collection) is a spec command like the others.
 */

/*
 * Semantics of the generated command fields (0 means "the default" for durations):
 * - SessionOpen.ttlMs 0: SESSION_TTL_MS. SessionKeepAlive restores the full TTL.
 * - SessionClose releases held locks (no lock delay); SessionExpire (the leader's decision) expires
 *   them (lock delay applies). Both cancel waits, arrivals and campaigns of the session.
 * - TimeAdvance: the only way time passes inside the state machine; deadlines due on the way
 *   (leases, waits, lock delays, sessions, barrier timeouts) fire in time order.
 * - LockAcquire.ttlMs 0: LOCK_LEASE_TIMEOUT_MS; waitMs 0: wait until the session ends; tryOnly:
 *   LOCK_BUSY instead of queueing.
 * - LockRelease releases one level; with fenceToken 0n it cancels the session's queued request.
 * - LockRenew extends the lease to now + TTL, the longest TTL of the holder's (re-entrant)
 *   acquires; it never shortens the lease.
 * - BarrierArrive.timeoutMs 0: BARRIER_TIMEOUT_MS; a larger participants count than the barrier's
 *   is a join; a name `base#k` (k >= 2) is stage k of a cascade and opens when `base#(k-1)` is
 *   satisfied (a timed-out or cancelled stage cancels the next).
 * - BarrierLeave withdraws the arrival and one required participant; the leaver's pending arrive
 *   resolves with outcome `cancelled`. A finished generation is dropped (a read then returns
 *   null), except a satisfied cascade stage, kept (at most MAX_BARRIERS) to open the next one.
 * - ElectionResign with the leadership epoch resigns; with epoch 0n withdraws a pending campaign.
 * - KvPut / KvDelete carry the context they were based on (see `state-machine.ts`).
 */
export type {
  BarrierArrive,
  BarrierLeave,
  CommandMessage,
  CommandResult,
  ElectionCampaign,
  ElectionResign,
  KvCompact,
  KvDelete,
  KvPut,
  LockAcquire,
  LockRelease,
  LockRenew,
  SessionClose,
  SessionExpire,
  SessionKeepAlive,
  SessionOpen,
  TimeAdvance,
  VersionVector,
  VersionVectorEntry,
} from '../../generated/index.js';

import type { CommandMessage } from '../../generated/index.js';

/** Everything `applyCommand` accepts (KvCompact's applied floor is computed by the leader). */
export type CoordinationCommand = CommandMessage;

/** How a barrier generation ended. */
export type BarrierOutcome = 'satisfied' | 'timed_out' | 'cancelled';

/**
 * Notifications produced by an apply (the same on every replica, in the same order). They are not
 * state: a waiter registry turns them into resolved promises.
 */
export type CoordinationEvent =
  | {
      kind: 'lock_granted';
      index: number;
      name: string;
      sessionId: string;
      requestId: string;
      fenceToken: bigint;
    }
  | {
      kind: 'lock_wait_ended';
      index: number;
      name: string;
      sessionId: string;
      requestId: string;
      reason: 'wait_timeout' | 'session_lost' | 'cancelled';
    }
  | {
      kind: 'lock_lost';
      index: number;
      name: string;
      sessionId: string;
      requestId: string;
      fenceToken: bigint;
      reason: 'lease_expired' | 'session_lost' | 'released';
    }
  | {
      kind: 'barrier_released';
      index: number;
      name: string;
      generation: bigint;
      outcome: BarrierOutcome;
      arrived: string[];
    }
  | {
      /** One session's arrival ended before the release: its session was lost, or it left. */
      kind: 'barrier_wait_cancelled';
      index: number;
      name: string;
      generation: bigint;
      sessionId: string;
      reason: 'session_lost' | 'left';
      /** The arrivals that remain. */
      arrived: string[];
    }
  | {
      kind: 'election_leader';
      index: number;
      name: string;
      sessionId: string | null;
      value: Uint8Array | null;
      epoch: bigint;
    }
  | {
      kind: 'campaign_aborted';
      index: number;
      name: string;
      sessionId: string;
      reason: 'session_lost' | 'withdrawn';
    }
  | { kind: 'session_ended'; index: number; sessionId: string; reason: 'closed' | 'expired' };
