/**
 * Limits of the coordination state machine. Defaults are the spec's constants (generated from
 * `specs/consensus_coordination.vibee`); tests may lower them.
 */
import {
  BARRIER_TIMEOUT_MS,
  ELECTION_QUEUE_MAX,
  ELECTION_VALUE_QUOTA_BYTES,
  KV_QUOTA_BYTES,
  LOCK_DELAY_MS,
  LOCK_LEASE_TIMEOUT_MS,
  LOCK_QUEUE_MAX,
  MAX_BARRIER_TIMEOUT_MS,
  MAX_BARRIERS,
  MAX_CONCURRENT_LOCKS,
  MAX_ELECTIONS,
  MAX_KEY_BYTES,
  MAX_LOCK_TTL_MS,
  MAX_NAME_BYTES,
  MAX_SESSION_TTL_MS,
  MAX_SESSIONS,
  MAX_VALUE_BYTES,
  SESSION_TTL_MS,
  VECTOR_CLOCK_MAX_ENTRIES,
} from '../../generated/index.js';

export interface CoordinationLimits {
  /** Waiters per lock (FIFO); one more is `LOCK_QUEUE_FULL`. */
  lockQueueMax: number;
  /** Lock records (held, or waiting out a lock delay) at once; one more is `TOO_MANY_LOCKS`. */
  maxConcurrentLocks: number;
  /** Barriers in state `waiting` at once; one more is `TOO_MANY_BARRIERS`. */
  maxBarriers: number;
  /** Default barrier timeout when an arrival says 0. */
  barrierTimeoutMs: number;
  /** Default lock lease when an acquire says 0. */
  lockLeaseTimeoutMs: number;
  /** Default session TTL when an open says 0. */
  sessionTtlMs: number;
  /** Wait after a lease/session expiry (not a release) before the lock is granted again. */
  lockDelayMs: number;
  /** Entries a version vector keeps (see `version-vector.ts` for the pruning rule). */
  vectorClockMaxEntries: number;
  /** UTF-8 bytes of a key. */
  maxKeyBytes: number;
  /** Bytes of a value (KV values, election values). */
  maxValueBytes: number;
  /** UTF-8 bytes of a lock/barrier/election name, session id, request id or actor. */
  maxNameBytes: number;
  /** Open sessions at once; one more is `TOO_MANY_SESSIONS`. */
  maxSessions: number;
  /** Largest session TTL an open may ask for; more is `INVALID_ARGUMENT`. */
  maxSessionTtlMs: number;
  /** Largest lock TTL (lease) an acquire may ask for; more is `INVALID_ARGUMENT`. */
  maxLockTtlMs: number;
  /** Largest barrier timeout an arrival may ask for; more is `INVALID_ARGUMENT`. */
  maxBarrierTimeoutMs: number;
  /** Elections (with a leader or candidates) at once; one more is `TOO_MANY_ELECTIONS`. */
  maxElections: number;
  /** Queued candidates per election (the leader not counted); one more is `ELECTION_QUEUE_FULL`. */
  electionQueueMax: number;
  /** Bytes of all stored campaign values (leaders and queued candidates); more is `NO_SPACE`. */
  electionValueQuotaBytes: number;
  /**
   * Bytes of the key-value store: per key its UTF-8 bytes plus, per stored sibling (tombstones
   * too), its value's bytes and 16 + the actor's UTF-8 bytes per version-vector entry. A write
   * that would grow the store above it is `NO_SPACE`; deletes and shrinking writes always pass.
   */
  kvQuotaBytes: number;
}

/** Defaults: the spec's constants. */
export const DEFAULT_COORDINATION_LIMITS: Readonly<CoordinationLimits> = Object.freeze({
  lockQueueMax: LOCK_QUEUE_MAX,
  maxConcurrentLocks: MAX_CONCURRENT_LOCKS,
  maxBarriers: MAX_BARRIERS,
  barrierTimeoutMs: BARRIER_TIMEOUT_MS,
  lockLeaseTimeoutMs: LOCK_LEASE_TIMEOUT_MS,
  sessionTtlMs: SESSION_TTL_MS,
  lockDelayMs: LOCK_DELAY_MS,
  vectorClockMaxEntries: VECTOR_CLOCK_MAX_ENTRIES,
  maxKeyBytes: MAX_KEY_BYTES,
  maxValueBytes: MAX_VALUE_BYTES,
  maxNameBytes: MAX_NAME_BYTES,
  maxSessions: MAX_SESSIONS,
  maxSessionTtlMs: MAX_SESSION_TTL_MS,
  maxLockTtlMs: MAX_LOCK_TTL_MS,
  maxBarrierTimeoutMs: MAX_BARRIER_TIMEOUT_MS,
  maxElections: MAX_ELECTIONS,
  electionQueueMax: ELECTION_QUEUE_MAX,
  electionValueQuotaBytes: ELECTION_VALUE_QUOTA_BYTES,
  kvQuotaBytes: KV_QUOTA_BYTES,
});
