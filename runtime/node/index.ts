/** The Raft node driver: a member on an `Env`, its storage interface and the default state machine. */

export { encodeKvCommand, type KvCommand, KvStateMachine, type StateMachine } from './kv-state-machine.js';
export type { LoadedState, LogStore } from './log-store.js';
export {
  type CreateNodeOptions,
  createNode,
  type NodeConfig,
  type NodeObserver,
  type NodeStatus,
  NodeStopped,
  ProposalDropped,
  ProposalIndeterminate,
  type ProposeResult,
  RaftNode,
} from './node.js';
export { SimpleLogStore } from './simple-log-store.js';
