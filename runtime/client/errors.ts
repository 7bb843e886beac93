/** Typed errors of the client (all carry a stable `code`, like `CoordinationError`). */
import { CoordinationError } from '../coordination/errors.js';

/**
 * The outcome is unknown: the request was sent but no answer came back in time (timeout,
 * connection lost, leader lost after sending). It may or may not have been applied; retrying the
 * same call through the same client reuses its sequence number and applies at most once.
 */
export class IndeterminateError extends CoordinationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INDETERMINATE', message);
    this.name = 'IndeterminateError';
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** No endpoint answered (nothing was sent anywhere, so nothing was applied). */
export class UnreachableError extends CoordinationError {
  /**
   * `no_leader`: members answered, but the last that did neither led nor knew a leader (no quorum,
   * or an election under way); `no_endpoint`: no member could be asked at all, or none answered.
   */
  readonly reason: 'no_endpoint' | 'no_leader';
  constructor(message: string, reason: 'no_endpoint' | 'no_leader' = 'no_endpoint') {
    super('UNREACHABLE', message);
    this.name = 'UnreachableError';
    this.reason = reason;
  }
}

/** The cluster refused the request (a definite failure: nothing was applied). */
export class RequestRejectedError extends CoordinationError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'RequestRejectedError';
  }
}
