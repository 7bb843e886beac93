/**
 * Coordination services as a replicated state machine: sessions, fenced locks, barriers,
 * elections and a version-vector KV store, plus the client core, the waiter registry and the
 * resource-side `FenceGuard`.
 */

export {
  type BarrierResult,
  type ClientCoreOptions,
  CoordinationClientCore,
  type CoreClock,
  type HeldLock,
  type Propose,
} from './client-core.js';
export {
  type CommandCodec,
  type CoordinationReplica,
  createCoordinationReplica,
  GENERATED_COMMAND_CODEC,
  type StateMachine,
} from './codec.js';
export { COORDINATION_ERROR_CODES, CoordinationError, type CoordinationErrorCode } from './errors.js';
export { FenceGuard } from './fence-guard.js';
export * from './limits.js';
export { BUILTIN_MERGES, type MergeFunction } from './merges.js';
export {
  type BarrierView,
  type ConflictRule,
  type ConflictStrategy,
  type CoordinationOptions,
  CoordinationStateMachine,
  type ElectionView,
  errorResult,
  type KvRead,
  type LockView,
  SNAPSHOT_STEP_RECORDS,
} from './state-machine.js';
export * from './types.js';
export { type BarrierRelease, type Leadership, type LockGrant, WaiterRegistry } from './waiter-registry.js';
