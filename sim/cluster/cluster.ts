import type { LogEntry } from '../../generated/index.js';
import { KvStateMachine } from '../../runtime/node/kv-state-machine.js';
import { createNode, type NodeConfig, type RaftNode } from '../../runtime/node/node.js';
import { ProposalRejected } from '../../runtime/raft/errors.js';
import type { Raft } from '../../runtime/raft/raft.js';
import type { SimDiskOptions } from '../fs.js';
import type { LinkConfig } from '../network.js';
import type { Seed } from '../prng.js';
import { createWorld, type World } from '../world.js';
import { InvariantChecker } from './checker.js';

/** Options of `SimCluster.start`. */
export interface ClusterOptions {
  seed: Seed;
  /** Number of members (ids n1..nN) or explicit ids. */
  nodes: number | readonly string[];
  config?: NodeConfig;
  /** Per-node config overrides (e.g. one member with a broken variant). */
  nodeConfig?: (id: string) => NodeConfig | undefined;
  network?: Partial<LinkConfig>;
  /** Clock-rate spread, see WorldOptions.clockDrift. */
  clockDrift?: number;
  /** Disk options of every member (e.g. sync latency, so crashes can land between write and sync). */
  disk?: SimDiskOptions;
  /** Check log matching every this many virtual ms (0: never). Default 100. */
  logCheckEveryMs?: number;
  /**
   * First boots run with `freshBootstrap`, as `consensus serve` starts a member on an empty data
   * dir (default true). A restart before the member caught up runs with it again, with the target
   * found, as the server's `JOINING` file makes it; later restarts run without it.
   */
  freshBootstrap?: boolean;
}

/** A proposal issued by the harness and its outcome. */
export interface TrackedProposal {
  seq: number;
  via: string;
  status: 'pending' | 'committed' | 'rejected' | 'dropped' | 'lost';
  index?: number;
  term?: number;
}

/**
 * A cluster of real `RaftNode`s on a simulated world: every member runs on its own simulated env
 * (clock, network, crash-prone disk), and the InvariantChecker watches every apply, persist, role
 * change and state, continuously. Crash, restart, pause and network faults go through `world`.
 */
export class SimCluster {
  readonly world: World;
  readonly ids: string[];
  readonly checker: InvariantChecker;
  readonly nodes = new Map<string, RaftNode | null>();
  readonly proposals: TrackedProposal[] = [];
  private readonly opts: ClusterOptions;
  private seq = 0;

  private constructor(opts: ClusterOptions) {
    this.opts = opts;
    this.world = createWorld({
      seed: opts.seed,
      network: opts.network,
      clockDrift: opts.clockDrift,
      traceFrames: false,
      disk: opts.disk,
    });
    this.ids =
      typeof opts.nodes === 'number'
        ? Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`)
        : [...opts.nodes];
    this.checker = new InvariantChecker(
      () => this.world.now(),
      (id) => this.nodes.get(id)?.raft ?? this.booting.get(id) ?? null,
    );
  }

  private readonly booting = new Map<string, Raft>();
  /**
   * What `consensus serve` keeps in a member's `JOINING` file while a fresh start is unjudged
   * (runtime/server/server.ts): durable, recorded at every persist, before acknowledgements leave.
   */
  private readonly freshMarkers = new Map<string, { target?: number; term?: number }>();

  private noteFreshStart(id: string): void {
    const marker = this.freshMarkers.get(id);
    const raft = this.nodes.get(id)?.raft;
    if (!marker || !raft) return;
    const s = raft.status();
    if (s.joinCheck === 'ok') this.freshMarkers.delete(id);
    else if (s.joinTarget !== null) {
      marker.target = s.joinTarget;
      marker.term = s.joinTargetTerm ?? 0;
    }
  }

  /** Creates the world and starts every member; resolves once all are running. */
  static async start(opts: ClusterOptions): Promise<SimCluster> {
    const c = new SimCluster(opts);
    for (const id of c.ids) c.world.createEnv(id);
    for (const id of c.ids) {
      if (opts.freshBootstrap ?? true) c.freshMarkers.set(id, {});
      c.boot(id);
    }
    await c.world.run({ stopWhen: () => c.ids.every((id) => c.nodes.get(id)), until: 1000 });
    const every = opts.logCheckEveryMs ?? 100;
    if (every > 0) c.scheduleLogCheck(every);
    return c;
  }

  private scheduleLogCheck(every: number): void {
    this.world.after(every, () => {
      this.checker.checkLogMatching(this.liveRafts());
      this.scheduleLogCheck(every);
    });
  }

  private boot(id: string): void {
    const env = this.world.env(id);
    const inc = this.world.incarnation(id);
    this.nodes.set(id, null);
    this.checker.beginIncarnation(id);
    const marker = this.freshMarkers.get(id);
    const cfg = {
      ...this.opts.config,
      ...this.opts.nodeConfig?.(id),
      ...(marker
        ? {
            freshBootstrap: true,
            ...(marker.target !== undefined
              ? { joinTarget: marker.target, joinTargetTerm: marker.term }
              : {}),
          }
        : {}),
    };
    const checker = this.checker;
    void createNode({
      id,
      peers: this.ids,
      env,
      config: cfg,
      stateMachine: new KvStateMachine(),
      observer: {
        onApply: (n, e: LogEntry) => checker.onApply(n, e),
        onPersisted: (n, hs, es) => {
          checker.onPersisted(n, hs, es);
          this.noteFreshStart(n);
        },
        onState: (n, s) => checker.onState(n, s),
        onRoleChange: (n, t) => checker.onRoleChange(n, t),
        onError: (n, e) => checker.onError(n, e),
      },
    }).then((node) => {
      if (this.world.incarnation(id) !== inc) {
        node.stop();
        return;
      }
      this.checker.onRestart(id, node.raft);
      this.nodes.set(id, node);
    });
  }

  /** Members that are up (created and not crashed). */
  liveRafts(): { id: string; raft: Raft }[] {
    const out: { id: string; raft: Raft }[] = [];
    for (const id of this.ids) {
      const n = this.nodes.get(id);
      if (n && this.world.status(id) !== 'crashed') out.push({ id, raft: n.raft });
    }
    return out;
  }

  /** Crashes a member (its undurable writes are lost; its pending calls are lost). */
  crash(id: string): void {
    this.world.crash(id);
    const n = this.nodes.get(id);
    n?.stop();
    this.nodes.set(id, null);
  }

  /** Restarts a crashed (or running) member from its disk. */
  restart(id: string): void {
    this.crash(id);
    this.world.restart(id);
    this.boot(id);
  }

  /** The live leader with the highest term, if any. */
  leader(): string | null {
    let best: string | null = null;
    let bestTerm = -1;
    for (const { id, raft } of this.liveRafts()) {
      if (raft.role === 'leader' && raft.term > bestTerm && this.world.status(id) === 'up') {
        best = id;
        bestTerm = raft.term;
      }
    }
    return best;
  }

  /** Number of live members that believe they lead, per term. */
  leadersByTerm(): Map<number, string[]> {
    const m = new Map<number, string[]>();
    for (const { id, raft } of this.liveRafts()) {
      if (raft.role !== 'leader') continue;
      m.set(raft.term, [...(m.get(raft.term) ?? []), id]);
    }
    return m;
  }

  /** Runs until some member leads (or `timeoutMs` passes); returns it or null. */
  async waitForLeader(timeoutMs = 5000): Promise<string | null> {
    await this.world.runFor(timeoutMs, { stopWhen: () => this.leader() !== null });
    return this.leader();
  }

  /** Runs `ms` of virtual time, stopping early on a violation. */
  async run(ms: number): Promise<void> {
    await this.world.runFor(ms, { stopWhen: () => this.checker.violations.length > 0 });
  }

  /**
   * Proposes a unique `put` through `via` (default: the current leader, else any live member).
   * The outcome is tracked in `proposals`; an acknowledged one is checked against the log.
   */
  propose(via?: string, key?: string): TrackedProposal {
    const seq = ++this.seq;
    const target = via ?? this.leader() ?? this.liveRafts()[0]?.id ?? (this.ids[0] as string);
    const p: TrackedProposal = { seq, via: target, status: 'pending' };
    this.proposals.push(p);
    const node = this.nodes.get(target);
    if (!node) {
      p.status = 'lost';
      return p;
    }
    const cmd = new TextEncoder().encode(
      JSON.stringify({ op: 'put', key: key ?? `k${seq % 7}`, value: `v${seq}` }),
    );
    node.propose(cmd).then(
      (r) => {
        p.status = 'committed';
        p.index = r.index;
        p.term = r.term;
        this.checker.checkAcknowledged(r.index, r.term);
      },
      (e) => {
        p.status =
          e instanceof ProposalRejected
            ? 'rejected'
            : e?.name === 'NodeStopped' || e?.name === 'ProposalIndeterminate'
              ? 'lost'
              : 'dropped';
      },
    );
    return p;
  }

  /** Heals the network, restores reliable links and restarts every crashed member. */
  healAll(): void {
    this.world.network.heal();
    this.world.network.setDefaults({ dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 5 });
    for (const id of this.ids) {
      const s = this.world.status(id);
      if (s === 'crashed') {
        this.world.restart(id);
        this.boot(id);
      } else if (s === 'paused') this.world.resume(id);
    }
  }

  /** Stops every member. */
  stop(): void {
    for (const n of this.nodes.values()) n?.stop();
  }

  /** The applied index of every live member. */
  appliedIndexes(): Map<string, number> {
    const m = new Map<string, number>();
    for (const { id, raft } of this.liveRafts()) m.set(id, raft.applied);
    return m;
  }
}
