/** The runtime's public entry point (`vibee-consensus`). */

// Clients: `connect({ endpoints })` over TCP and the embedded client on a local node.
export {
  type BarrierHandle,
  type BarrierResult,
  type CallOpts,
  type Client,
  type ConnectOptions,
  connect,
  createEmbeddedClient,
  type ElectionHandle,
  type EmbeddedClientOptions,
  type HeldLock,
  type KvValue,
} from './client/client.js';
export { IndeterminateError, RequestRejectedError, UnreachableError } from './client/errors.js';
export { parseConflictRules } from './coordination/conflict-rules.js';
// Coordination: errors, the resource-side fence check, the replicated machine for embedding.
export {
  COORDINATION_ERROR_CODES,
  CoordinationError,
  type CoordinationErrorCode,
  type CoordinationReplica,
  createCoordinationReplica,
  FenceGuard,
} from './coordination/index.js';
export type { ConflictRule, ConflictStrategy } from './coordination/state-machine.js';
// The contract's `createNode`: a member on a supplied or the real env, with `node.client()`.
export {
  type CreateNodeOptions,
  createNode,
  type EmbeddedNode,
  type EmbeddedNodeApi,
} from './embedded-node.js';
export { createNodeFileSystem } from './env/node-fs.js';
export { createRealClock } from './env/real-clock.js';
export { createRealRandom } from './env/real-random.js';
export type * from './env/types.js';
export type { StateMachine } from './node/kv-state-machine.js';
export type { LoadedState, LogStore } from './node/log-store.js';
// The bare Raft node driver (an `Env` is required; no client, no leader time duty).
export {
  type CreateNodeOptions as CreateRaftNodeOptions,
  createNode as createRaftNode,
  type NodeConfig,
  type NodeObserver,
  type NodeStatus,
  NodeStopped,
  ProposalDropped,
  ProposalIndeterminate,
  type ProposeResult,
  RaftNode,
} from './node/node.js';
export { ProposalRejected, type RejectReason } from './raft/errors.js';

// The server process component and the exactly-once wrapper.
export { DedupStateMachine, decodeEnvelope, type Envelope, encodeEnvelope } from './server/envelope.js';
export { encodeReadQuery, type ServerStatus } from './server/protocol.js';
export { type HostPort, type Server, type ServerOptions, startServer } from './server/server.js';

// Storage and transport pieces users configure.
export { CORRUPTION_REMEDY, StorageFailedError, WalCorruptionError } from './storage/errors.js';
export { createWalLogStore, type WalLogStore } from './storage/wal-log-store.js';
export { TransportError } from './transport/errors.js';
export type { TlsCertificateSummary, TransportLimits, TransportTlsOptions } from './transport/types.js';
