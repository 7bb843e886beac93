/**
 * Coordination services as a replicated state machine: sessions, fenced locks, barriers,
 * elections and a version-vector KV store, plus the client core, the waiter registry and the
 * resource-side `FenceGuard`.
 */
export * from './types.js';
export * from './errors.js';
export * from './limits.js';
export { BUILTIN_MERGES, type MergeFunction } from './merges.js';
export {
  CoordinationStateMachine, errorResult,
  type BarrierView, type ConflictRule, type ConflictStrategy, type CoordinationOptions, type ElectionView,
  type KvRead, type LockView,
} from './state-machine.js';
export { GENERATED_COMMAND_CODEC, createCoordinationReplica, type CommandCodec, type CoordinationReplica, type StateMachine } from './codec.js';
export { FenceGuard } from './fence-guard.js';
export { WaiterRegistry, type BarrierRelease, type Leadership, type LockGrant } from './waiter-registry.js';
export {
  CoordinationClientCore, type BarrierResult, type ClientCoreOptions, type CoreClock, type HeldLock, type Propose,
} from './client-core.js';
