/**
 * Typed errors of the coordination state machine. Codes are stable (part of the public surface):
 * they travel in `CommandResult.error_code` and become `CoordinationError.code` on the client.
 * Invariant: a command that yields an error changed nothing.
 */

/** Every error code the coordination state machine returns. */
export const COORDINATION_ERROR_CODES = [
  'DECODE_ERROR',
  'STALE_INDEX',
  'INVALID_ARGUMENT',
  'NAME_TOO_LONG',
  'KEY_TOO_LONG',
  'VALUE_TOO_LARGE',
  'UNKNOWN_SESSION',
  'SESSION_EXISTS',
  'UNKNOWN_LOCK',
  'NOT_LOCK_HOLDER',
  'STALE_FENCE_TOKEN',
  'LOCK_BUSY',
  'LOCK_QUEUE_FULL',
  'TOO_MANY_LOCKS',
  'DUPLICATE_REQUEST',
  'UNKNOWN_BARRIER',
  'INVALID_THRESHOLD',
  'INVALID_PARTICIPANTS',
  'BARRIER_MISMATCH',
  'TOO_MANY_BARRIERS',
  'NOT_ARRIVED',
  'UNKNOWN_ELECTION',
  'NOT_ELECTION_LEADER',
  'STALE_EPOCH',
  'INVALID_CONTEXT',
  'KV_CONFLICT',
  'MERGE_FAILED',
  'UNKNOWN_MERGE',
  'TOO_MANY_SESSIONS',
  'TOO_MANY_ELECTIONS',
  'ELECTION_QUEUE_FULL',
  'NO_SPACE',
] as const;

/** A stable error code. */
export type CoordinationErrorCode = (typeof COORDINATION_ERROR_CODES)[number];

/** An error with a stable code; thrown by the client core, carried in results by the state machine. */
export class CoordinationError extends Error {
  /** The stable code. */
  readonly code: CoordinationErrorCode | string;
  constructor(code: CoordinationErrorCode | string, message: string) {
    super(message);
    this.name = 'CoordinationError';
    this.code = code;
  }
}

/** Internal: thrown inside apply to abort a command; converted to an error result before any change. */
export class Reject extends Error {
  readonly code: CoordinationErrorCode;
  constructor(code: CoordinationErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Throws a `Reject` (used by validation helpers). */
export function reject(code: CoordinationErrorCode, message: string): never {
  throw new Reject(code, message);
}
