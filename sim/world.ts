/**
 * The simulated world: one event queue in virtual time that runs every node's timers, message
 * deliveries and disk completions, plus the faults a test injects (crash, restart, pause, clock
 * drift, network faults through `world.network`, disk faults through `world.disk(id)`).
 *
 * Determinism: everything that happens is an event ordered by (virtual time, sequence number);
 * all randomness comes from streams forked from the seed; after each event the world lets the
 * microtask queue drain (a `setImmediate` turn) before the next one, so promise continuations
 * that an event triggers run "at" that event's virtual time and in a fixed order. The same seed
 * and the same test code therefore give the same trace hash. Application code under test must
 * not use real timers, real I/O or `Math.random`.
 *
 * Incarnations: each node has an incarnation counter bumped by `crash`. Every event a node's env
 * schedules (timers, deliveries to it, disk completions) is tagged with the incarnation that was
 * current when it was scheduled and silently discarded if the node has since crashed, so nothing
 * from a crashed incarnation ever runs. An env of an old incarnation is inert: its sends are
 * dropped, its timers never fire, its disk operations never settle.
 */
import type { Clock, Env, FileSystem, Network, TimerHandle } from '../runtime/env/types.js';
import { EventQueue, type QueuedEvent } from './event-queue.js';
import { SimDisk, type SimDiskOptions } from './fs.js';
import { type LinkConfig, SimNetwork } from './network.js';
import { Prng, type Seed } from './prng.js';
import { hashBytes, Trace, type TraceOptions } from './trace.js';

/** Options of `createWorld`. */
export interface WorldOptions {
  /** The seed every random stream derives from. */
  seed: Seed;
  /** Trace options (e.g. `keep: 200` to print the tail of a failing run). */
  trace?: TraceOptions;
  /** Include a hash of each delivered frame in the trace (default true). */
  traceFrames?: boolean;
  /** Default link behaviour (see `SimNetwork.setDefaults`). */
  network?: Partial<LinkConfig>;
  /** Each node's clock rate is drawn uniformly from [1 - clockDrift, 1 + clockDrift] unless its
   * `NodeOptions.clock.rate` is given. Default 0 (perfect clocks). */
  clockDrift?: number;
  /** Default disk options of every node. */
  disk?: SimDiskOptions;
  /**
   * How the world lets promise continuations run between events. `'tick'` (default) resumes from
   * a `process.nextTick`, which Node runs only once the promise-microtask queue is empty: cheap,
   * and enough unless the code under test itself defers work with `process.nextTick`/
   * `queueMicrotask` chains interleaved with promises; `'immediate'` waits a `setImmediate` turn
   * (every microtask and tick has run; several times slower).
   */
  yieldMode?: 'tick' | 'immediate';
}

/** Per-node options of `createEnv`. */
export interface NodeOptions {
  /** The node's clock: local time = offsetMs + world time at creation, then advancing `rate`
   * times as fast as virtual time (e.g. 1.0001 runs 100 ppm fast). */
  clock?: { rate?: number; offsetMs?: number };
  /** Disk options (merged over `WorldOptions.disk`); used when the disk is first created. */
  disk?: SimDiskOptions;
}

/** A node's lifecycle state. */
export type NodeStatus = 'up' | 'paused' | 'crashed';

/** The `Env` a simulated node runs on. */
export interface SimEnv extends Env {
  /** The node this env belongs to. */
  readonly nodeId: string;
  /** The incarnation it belongs to (0 for `createEnv`, +1 per crash). */
  readonly incarnation: number;
}

/** Options of `run`. */
export interface RunOptions {
  /** Stop before any event later than this virtual time; `now()` is then `until`. */
  until?: number;
  /** Stop after this many events ran. */
  maxEvents?: number;
  /** Checked after every event; the run stops when it returns true. */
  stopWhen?: () => boolean;
}

/** Why and where a run stopped. */
export interface RunResult {
  reason: 'idle' | 'until' | 'maxEvents' | 'stopped';
  /** Events run by this call. */
  events: number;
  /** Virtual time at the end. */
  now: number;
}

interface WorldEvent extends QueuedEvent {
  fn: () => void;
  node: NodeState | null;
  inc: number;
  /** Called instead of `fn` when the event is discarded because its node crashed. */
  onDiscard?: () => void;
}

interface NodeState {
  id: string;
  inc: number;
  status: NodeStatus;
  pauseToken: number;
  /** Virtual time at which the current pause ends. */
  pauseEnd: number;
  deferred: WorldEvent[];
  handler: ((from: string, frame: Uint8Array) => void) | null;
  anchorWorld: number;
  anchorLocal: number;
  rate: number;
  disk: SimDisk;
  env: SimEnv;
}

/** The world: virtual time, nodes, network, disks, trace. Create with `createWorld`. */
export class World {
  /** The root random stream (fork it for harness decisions: `world.rng.fork('workload')`). */
  readonly rng: Prng;
  /** The trace of everything that happened; `trace.hash` fingerprints the run. */
  readonly trace: Trace;
  /** The simulated network (link behaviour, partitions, counters). */
  readonly network: SimNetwork;
  private readonly queue = new EventQueue<WorldEvent>();
  private readonly nodes = new Map<string, NodeState>();
  private readonly timerEvents = new WeakSet<object>();
  private time = 0;
  private seq = 0;
  private eventsRun = 0;
  private running = false;
  private readonly traceFrames: boolean;
  private readonly drain: () => Promise<void>;

  /** See `createWorld`. */
  constructor(private readonly opts: WorldOptions) {
    this.rng = new Prng(opts.seed);
    this.trace = new Trace(opts.trace);
    this.traceFrames = opts.traceFrames ?? true;
    this.drain = opts.yieldMode === 'immediate' ? drainImmediate : drainTick;
    this.network = new SimNetwork({ rng: this.rng, nodeIds: () => [...this.nodes.keys()] });
    if (opts.network) this.network.setDefaults(opts.network);
  }

  /** The seed this world was created with. */
  get seed(): Seed {
    return this.opts.seed;
  }

  /** Current virtual time in ms (starts at 0). */
  now(): number {
    return this.time;
  }

  /** Total events run so far. */
  get eventCount(): number {
    return this.eventsRun;
  }

  /** Events waiting in the queue (including cancelled timers not yet discarded). */
  get pending(): number {
    return this.queue.size;
  }

  /** Runs `fn` at virtual time `at` (clamped to now). A harness event: not tied to any node. */
  schedule(at: number, fn: () => void): void {
    this.push(Math.max(at, this.time), fn, null, 0);
  }

  /** Runs `fn` after `ms` virtual ms. */
  after(ms: number, fn: () => void): void {
    this.schedule(this.time + Math.max(0, ms), fn);
  }

  /**
   * Runs events in order until the queue is empty, `until` is reached, `maxEvents` ran or
   * `stopWhen()` holds. Lets microtasks drain after every event (see the module comment).
   */
  async run(opts: RunOptions = {}): Promise<RunResult> {
    if (this.running) throw new Error('World.run/step is already in progress (await the first call)');
    this.running = true;
    try {
      return await this.runLoop(opts);
    } finally {
      this.running = false;
    }
  }

  private async runLoop(opts: RunOptions): Promise<RunResult> {
    const { until, maxEvents, stopWhen } = opts;
    let events = 0;
    await this.drain();
    for (;;) {
      if (stopWhen?.()) return { reason: 'stopped', events, now: this.time };
      if (maxEvents !== undefined && events >= maxEvents)
        return { reason: 'maxEvents', events, now: this.time };
      const next = this.peekLive();
      if (!next || (until !== undefined && next.at > until)) {
        if (until !== undefined && until > this.time) this.time = until;
        return { reason: next ? 'until' : 'idle', events, now: this.time };
      }
      if (this.dispatch()) {
        events++;
        await this.drain();
      }
    }
  }

  /** Runs for `ms` virtual ms from now (see `run`). */
  runFor(ms: number, opts: Omit<RunOptions, 'until'> = {}): Promise<RunResult> {
    return this.run({ ...opts, until: this.time + ms });
  }

  /** Runs exactly one event (skipping discarded ones); false when the queue is empty. */
  async step(): Promise<boolean> {
    if (this.running) throw new Error('World.run/step is already in progress (await the first call)');
    await this.drain();
    while (this.queue.size > 0) {
      if (this.dispatch()) {
        await this.drain();
        return true;
      }
    }
    return false;
  }

  /** Creates node `nodeId` and returns its first env. Throws if the node exists (use `restart`). */
  createEnv(nodeId: string, opts: NodeOptions = {}): SimEnv {
    if (this.nodes.has(nodeId)) throw new Error(`node ${nodeId} already exists; use restart()`);
    const drift = this.opts.clockDrift ?? 0;
    const rate =
      opts.clock?.rate ?? (drift > 0 ? this.rng.fork(`drift/${nodeId}`).range(1 - drift, 1 + drift) : 1);
    if (!(rate > 0)) throw new RangeError('clock rate must be > 0');
    const n = {
      id: nodeId,
      inc: 0,
      status: 'up',
      pauseToken: 0,
      pauseEnd: 0,
      deferred: [],
      handler: null,
      anchorWorld: this.time,
      anchorLocal: this.time + (opts.clock?.offsetMs ?? 0),
      rate,
    } as unknown as NodeState;
    n.disk = new SimDisk(this.rng.fork(`disk/${nodeId}`), this.diskScheduler(n), {
      ...this.opts.disk,
      ...opts.disk,
    });
    n.env = this.makeEnv(n);
    this.nodes.set(nodeId, n);
    this.record(`create ${nodeId} rate=${rate}`);
    return n.env;
  }

  /** The current env of a node. */
  env(nodeId: string): SimEnv {
    return this.node(nodeId).env;
  }

  /** The node's disk (for fault injection: `world.disk(id).failNext('sync', 'EIO')`). */
  disk(nodeId: string): SimDisk {
    return this.node(nodeId).disk;
  }

  /** Ids of all nodes, in creation order. */
  nodeIds(): string[] {
    return [...this.nodes.keys()];
  }

  /** A node's lifecycle state. */
  status(nodeId: string): NodeStatus {
    return this.node(nodeId).status;
  }

  /** The node's current incarnation (bumped by every crash). */
  incarnation(nodeId: string): number {
    return this.node(nodeId).inc;
  }

  /**
   * Crashes a node: its pending timers, disk completions and the deliveries in flight to it are
   * discarded, its env becomes inert and its disk keeps only what was durable (see `SimDisk`).
   * No-op on a crashed node.
   */
  crash(nodeId: string): void {
    const n = this.node(nodeId);
    if (n.status === 'crashed') return;
    n.inc++;
    n.status = 'crashed';
    n.pauseToken++;
    for (const ev of n.deferred) ev.onDiscard?.();
    n.deferred = [];
    n.handler = null;
    const torn = n.disk.stats.tornWrites;
    n.disk.crash();
    this.record(`crash ${nodeId} inc=${n.inc} torn=${n.disk.stats.tornWrites - torn}`);
  }

  /** Restarts a node (crashing it first if it is up or paused) and returns the env of its new
   * incarnation, on the same disk; the harness re-creates the node with it. */
  restart(nodeId: string): SimEnv {
    const n = this.node(nodeId);
    if (n.status !== 'crashed') this.crash(nodeId);
    n.status = 'up';
    n.disk.setScheduler(this.diskScheduler(n));
    n.env = this.makeEnv(n);
    this.record(`restart ${nodeId} inc=${n.inc}`);
    return n.env;
  }

  /**
   * Pauses a node for `ms` (a GC pause, SIGSTOP): its timers, deliveries and disk completions are
   * held and run, in their original order, when it resumes; its clock keeps running. Pausing a
   * paused node extends the pause to whichever ends later.
   */
  pause(nodeId: string, ms: number): void {
    const n = this.node(nodeId);
    if (n.status === 'crashed') throw new Error(`cannot pause crashed node ${nodeId}`);
    const token = ++n.pauseToken;
    const prevEnd = n.status === 'paused' ? n.pauseEnd : this.time;
    const end = Math.max(prevEnd, this.time + Math.max(0, ms));
    n.pauseEnd = end;
    n.status = 'paused';
    this.record(`pause ${nodeId} until=${end}`);
    this.push(
      end,
      () => {
        if (n.pauseToken === token && n.status === 'paused') this.resume(nodeId);
      },
      null,
      0,
    );
  }

  /** Ends a pause now; held events run at the current time, in their original order. */
  resume(nodeId: string): void {
    const n = this.node(nodeId);
    if (n.status !== 'paused') return;
    n.status = 'up';
    n.pauseToken++;
    this.record(`resume ${nodeId} held=${n.deferred.length}`);
    const held = n.deferred;
    n.deferred = [];
    // Requeue the same objects (so timer handles still cancel them) at the current time, with
    // fresh sequence numbers in their original order.
    for (const ev of held) {
      ev.at = this.time;
      ev.seq = this.seq++;
      this.queue.push(ev);
    }
  }

  /** Changes a node's clock rate from now on; its local time stays continuous. */
  setClockRate(nodeId: string, rate: number): void {
    if (!(rate > 0)) throw new RangeError('clock rate must be > 0');
    const n = this.node(nodeId);
    n.anchorLocal = localNow(n, this.time);
    n.anchorWorld = this.time;
    n.rate = rate;
    this.record(`clock ${nodeId} rate=${rate}`);
  }

  /** A node's local clock reading now (what its `env.clock.now()` returns). */
  localTime(nodeId: string): number {
    return localNow(this.node(nodeId), this.time);
  }

  // --- machinery ---------------------------------------------------------------------------

  private node(id: string): NodeState {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`unknown node ${id}`);
    return n;
  }

  private record(line: string): void {
    this.trace.record(`${this.time} ${line}`);
  }

  private push(
    at: number,
    fn: () => void,
    node: NodeState | null,
    inc: number,
    onDiscard?: () => void,
  ): WorldEvent {
    const ev: WorldEvent = { at, seq: this.seq++, cancelled: false, fn, node, inc };
    if (onDiscard) ev.onDiscard = onDiscard;
    this.queue.push(ev);
    return ev;
  }

  private peekLive(): WorldEvent | undefined {
    for (;;) {
      const ev = this.queue.peek();
      if (!ev?.cancelled) return ev;
      this.queue.pop();
    }
  }

  /** Pops one event and runs it; false when it was cancelled, stale or held by a pause. */
  private dispatch(): boolean {
    const ev = this.queue.pop();
    if (!ev || ev.cancelled) return false;
    if (ev.at > this.time) this.time = ev.at;
    const n = ev.node;
    if (n) {
      if (n.inc !== ev.inc || n.status === 'crashed') {
        ev.onDiscard?.();
        return false;
      }
      if (n.status === 'paused') {
        n.deferred.push(ev);
        return false;
      }
    }
    this.eventsRun++;
    ev.fn();
    return true;
  }

  private diskScheduler(n: NodeState) {
    const inc = n.inc;
    return { defer: (delayMs: number, fn: () => void) => void this.push(this.time + delayMs, fn, n, inc) };
  }

  private makeEnv(n: NodeState): SimEnv {
    const inc = n.inc;
    const live = () => n.inc === inc && n.status !== 'crashed';
    const random = this.rng.fork(`random/${n.id}/${inc}`);
    const clock: Clock = {
      now: () => localNow(n, this.time),
      setTimer: (ms: number, fn: () => void): TimerHandle => {
        const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
        const target = localNow(n, this.time) + delay;
        let due = this.time + delay / n.rate;
        // Never fire before the local deadline because of float rounding.
        while (localNow(n, due) < target) due += Math.max(Number.EPSILON * Math.abs(due), Number.MIN_VALUE);
        const fire = (): void => {
          const local = localNow(n, this.time);
          if (local < target) {
            // The clock rate changed since (setClockRate): wait on until the local deadline.
            let again = this.time + (target - local) / n.rate;
            while (localNow(n, again) < target)
              again += Math.max(Number.EPSILON * Math.abs(again), Number.MIN_VALUE);
            this.push(again, () => void (ev.cancelled || fire()), n, inc);
            return;
          }
          this.record(`timer ${n.id}`);
          fn();
        };
        const ev = this.push(due, fire, n, inc);
        if (!live()) ev.cancelled = true;
        this.timerEvents.add(ev);
        return ev;
      },
      clearTimer: (handle: TimerHandle) => {
        if (typeof handle !== 'object' || handle === null || !this.timerEvents.has(handle)) return;
        (handle as WorldEvent).cancelled = true;
      },
    };
    const network: Network = {
      send: (to: string, frame: Uint8Array) => {
        if (!live()) return;
        this.send(n, to, frame);
      },
      onReceive: (handler) => {
        if (live()) n.handler = handler;
      },
    };
    const fs: FileSystem = n.disk.fileSystem();
    return { nodeId: n.id, incarnation: inc, clock, random: () => random.float(), network, fs };
  }

  private send(from: NodeState, to: string, frame: Uint8Array): void {
    const bytes = frame.slice(); // the sender may reuse its buffer
    const len = bytes.length;
    const { delays, reason } = this.network.route(from.id, to, len);
    if (reason) {
      this.record(`drop ${from.id}>${to} ${reason}`);
      return;
    }
    const target = this.nodes.get(to);
    if (!target || target.status === 'crashed') {
      this.network.countDropped(from.id, to);
      this.record(`drop ${from.id}>${to} ${target ? 'down' : 'unknown'}`);
      return;
    }
    const tag = this.traceFrames ? ` ${hashBytes(bytes)}` : '';
    delays.forEach((d, i) => {
      const copy = i === 0 ? bytes : bytes.slice();
      const discard = () => {
        this.network.countDropped(from.id, to);
        this.record(`drop ${from.id}>${to} down`);
      };
      this.push(
        this.time + d,
        () => {
          if (this.network.isCut(from.id, to)) {
            this.network.countDropped(from.id, to);
            this.record(`drop ${from.id}>${to} cut`);
            return;
          }
          const h = target.handler;
          if (!h) {
            this.network.countDropped(from.id, to);
            this.record(`drop ${from.id}>${to} no-handler`);
            return;
          }
          this.network.countDelivered(from.id, to, len);
          this.record(`deliver ${from.id}>${to} ${len}${tag}`);
          h(from.id, copy);
        },
        target,
        target.inc,
        discard,
      );
    });
  }
}

function localNow(n: NodeState, worldTime: number): number {
  return n.anchorLocal + n.rate * (worldTime - n.anchorWorld);
}

/** Lets every queued microtask (and the microtasks they queue) run: a macrotask turn. */
function drainImmediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resumes after the promise-microtask queue is empty: Node processes the nextTick queue only
 * when `runMicrotasks()` has drained it. */
function drainTick(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}

/** Creates a simulated world for `seed`. */
export function createWorld(opts: WorldOptions): World {
  return new World(opts);
}
