/**
 * Public entry point of `vibee-consensus/sim`: the deterministic simulation kit. A `World` runs
 * any number of nodes on simulated `Env`s (virtual clock with drift, simulated network with
 * fault injection, simulated crash-prone disks), in one event queue, from one seed.
 *
 * ```ts
 * const world = createWorld({ seed: 42 });
 * const env = world.createEnv('a');          // pass to createNode({ id: 'a', env, ... })
 * world.network.partition(['a'], ['b', 'c']);
 * await world.runFor(1_000);
 * world.crash('a'); const env2 = world.restart('a');
 * console.log(world.trace.hash);             // same seed, same code: same hash
 * ```
 */
export { EventQueue, type QueuedEvent } from './event-queue.js';
export {
  type DiskScheduler,
  type DiskStats,
  type FsErrorCode,
  type FsOp,
  type LatencyRange,
  normalizePath,
  SimDisk,
  type SimDiskOptions,
  SimFsError,
} from './fs.js';
export {
  DEFAULT_LINK,
  type DropReason,
  type LinkConfig,
  type LinkStats,
  type NetworkHost,
  SimNetwork,
} from './network.js';
export { createPrng, Prng, type Seed } from './prng.js';
export { forEachSeed, SeedFailure, type SeedSpec, seedList } from './seeds.js';
export { Fnv64, hashBytes, Trace, type TraceOptions } from './trace.js';
export {
  createWorld,
  type NodeOptions,
  type NodeStatus,
  type RunOptions,
  type RunResult,
  type SimEnv,
  World,
  type WorldOptions,
} from './world.js';
