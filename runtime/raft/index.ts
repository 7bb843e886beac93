/** The pure Raft core: no I/O, no clock, no randomness of its own. */
export { createRaft, Raft, type RaftConfig } from './raft.js';
export { ProposalRejected, RaftInvariantError, type RejectReason } from './errors.js';
export { RaftLog } from './log.js';
export { crc32 } from './crc32.js';
export { majority, quorumValue, voteResult, allVoters, allMembers, isVoter } from './quorum.js';
export type * from './types.js';
