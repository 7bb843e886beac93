/**
 * Public entry point of `vibee-consensus/check`: a linearizability checker (Wing-Gong/Lowe search
 * with per-partition checking and state caching), built-in KV and fenced-lock models, a `Model`
 * interface for user state machines, and a text timeline of the first violation.
 */

export {
  type CheckOptions,
  type CheckResult,
  checkLinearizability,
  type Violation,
} from './linearizability.js';
export { type Model, type Operation, stableHash } from './model.js';
export {
  fencedLockModel,
  type KvInput,
  type KvOutput,
  kvModel,
  type LockInput,
  type LockModelState,
  type LockOutput,
} from './models.js';
export { renderTimeline, type TimelineOptions } from './timeline.js';
