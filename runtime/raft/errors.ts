/** Why the core refused a proposal, a read or a membership change. */
export type RejectReason =
  | 'not_leader'
  | 'backpressure'
  | 'transfer_in_progress'
  | 'not_committed_in_term'
  | 'conf_change_pending'
  | 'conf_change_invalid'
  | 'no_live_quorum'
  /** A new leader has not yet heard from enough voters to judge a membership change (transient). */
  | 'voters_not_heard'
  | 'cluster_too_large'
  | 'not_caught_up';

/**
 * Typed refusal from the core. `leaderId` is the leader this member knows of (or null) so a caller
 * can redirect; refusals never change any state (the call is safe to retry elsewhere).
 */
export class ProposalRejected extends Error {
  /** Machine-readable reason. */
  readonly reason: RejectReason;
  /** The leader known to the refusing member, when the reason is `not_leader`. */
  readonly leaderId: string | null;
  constructor(reason: RejectReason, message: string, leaderId: string | null = null) {
    super(message);
    this.name = 'ProposalRejected';
    this.reason = reason;
    this.leaderId = leaderId;
  }
}

/** Thrown when an invariant of the protocol would be broken (a bug, never a normal outcome). */
export class RaftInvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RaftInvariantError';
  }
}
