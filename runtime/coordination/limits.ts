/**
 * Limits of the coordination state machine. The values mirror the spec's constants
 * (`specs/consensus_coordination.vibee`); a test asserts they equal the generated ones once
 * `generated/` exports them, so the spec stays the single source of truth.
 */
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
}

/** Defaults: the spec's constants. */
export const DEFAULT_COORDINATION_LIMITS: Readonly<CoordinationLimits> = Object.freeze({
  lockQueueMax: 64,
  maxConcurrentLocks: 256,
  maxBarriers: 64,
  barrierTimeoutMs: 30000,
  lockLeaseTimeoutMs: 10000,
  sessionTtlMs: 10000,
  lockDelayMs: 0,
  vectorClockMaxEntries: 32,
  maxKeyBytes: 4096,
  maxValueBytes: 1048576,
  maxNameBytes: 512,
});
