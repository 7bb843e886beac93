/** The pure Raft core: no I/O, no clock, no randomness of its own. */

export { crc32 } from './crc32.js';
export { ProposalRejected, RaftInvariantError, type RejectReason } from './errors.js';
export { RaftLog } from './log.js';
export { allMembers, allVoters, isVoter, majority, quorumValue, voteResult } from './quorum.js';
export { createRaft, Raft, type RaftConfig } from './raft.js';
export type * from './types.js';
