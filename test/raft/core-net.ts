import type { HardState, LogEntry, RaftMessage } from '../../generated/index.js';
import { createRaft, type Raft, type RaftConfig } from '../../runtime/raft/raft.js';
import type { Snapshot } from '../../runtime/raft/types.js';

/** Deterministic PRNG (mulberry32) for tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Stored {
  hs: HardState;
  entries: LogEntry[];
  snapshot: Snapshot | null;
}

/**
 * A synchronous, in-process driver of several pure cores for unit tests: memory "disks" that honour
 * the Ready contract (persist, then send, then apply), a message queue with cuttable links, manual
 * time. Crash keeps exactly what was persisted.
 */
export class CoreNet {
  readonly cores = new Map<string, Raft>();
  readonly stored = new Map<string, Stored>();
  readonly applied = new Map<string, LogEntry[]>();
  readonly sent: { from: string; to: string; m: RaftMessage }[] = [];
  readonly readStates = new Map<string, { index: number; ctx: string }[]>();
  queue: { from: string; to: string; m: RaftMessage }[] = [];
  private readonly cut = new Set<string>();
  private readonly down = new Set<string>();
  now = 0;
  private readonly random: () => number;
  /** Drop messages for which this returns true (after `cut`). */
  filter: ((from: string, to: string, m: RaftMessage) => boolean) | null = null;

  constructor(
    readonly ids: string[],
    private readonly cfg: Partial<RaftConfig> = {},
    seed = 1,
    private readonly perNode: (id: string) => Partial<RaftConfig> = () => ({}),
  ) {
    this.random = rng(seed);
    for (const id of ids) {
      this.stored.set(id, { hs: { term: 0, votedFor: null, commit: 0 }, entries: [], snapshot: null });
      this.applied.set(id, []);
      this.boot(id, false);
    }
  }

  private boot(id: string, restore: boolean, extra: Partial<RaftConfig> = {}): void {
    const s = this.stored.get(id) as Stored;
    const r = createRaft({
      ...this.cfg,
      ...this.perNode(id),
      id,
      peers: this.ids,
      ...extra,
      random: this.random,
      now: this.now,
      restored: restore ? { hardState: s.hs, entries: s.entries, snapshot: s.snapshot } : undefined,
    });
    this.cores.set(id, r);
    this.applied.set(id, restore && s.snapshot ? [] : (this.applied.get(id) ?? []));
    if (restore) this.applied.set(id, []);
  }

  core(id: string): Raft {
    return this.cores.get(id) as Raft;
  }

  /** Cuts both directions between `a` and each of `others`. */
  isolate(a: string): void {
    for (const b of this.ids) if (b !== a) this.cut.add(`${a}>${b}`).add(`${b}>${a}`);
  }
  heal(): void {
    this.cut.clear();
  }
  cutLink(from: string, to: string): void {
    this.cut.add(`${from}>${to}`);
  }

  crash(id: string): void {
    this.down.add(id);
    this.queue = this.queue.filter((q) => q.to !== id && q.from !== id);
  }
  /** Starts `id` again from what it persisted (`extra`: options of that start, e.g. freshJoin). */
  restart(id: string, extra: Partial<RaftConfig> = {}): void {
    this.down.delete(id);
    this.boot(id, true, extra);
  }

  /** Starts `id` on an emptied disk the way `--join` does: no configuration, `freshJoin`. */
  wipeAndJoin(id: string): void {
    this.down.delete(id);
    this.queue = this.queue.filter((q) => q.to !== id && q.from !== id);
    this.stored.set(id, { hs: { term: 0, votedFor: null, commit: 0 }, entries: [], snapshot: null });
    this.applied.set(id, []);
    this.boot(id, false, { peers: [], initialConfig: undefined, freshJoin: true });
  }

  /**
   * Starts `id` on an emptied disk the way a plain restart with the static member list does (no
   * `--join`): the initial configuration, `freshBootstrap`.
   */
  wipeAndBootstrap(id: string): void {
    this.down.delete(id);
    this.queue = this.queue.filter((q) => q.to !== id && q.from !== id);
    this.stored.set(id, { hs: { term: 0, votedFor: null, commit: 0 }, entries: [], snapshot: null });
    this.applied.set(id, []);
    this.boot(id, false, { freshBootstrap: true });
  }

  /** Drains every core's Ready (persist, send, apply, advance). */
  process(): void {
    for (const id of this.ids) {
      if (this.down.has(id)) continue;
      const r = this.core(id);
      while (r.hasReady()) {
        const rd = r.ready();
        const s = this.stored.get(id) as Stored;
        if (rd.snapshot) {
          s.snapshot = rd.snapshot;
          s.entries = [];
        }
        if (rd.entries.length > 0) {
          const first = (rd.entries[0] as LogEntry).index;
          s.entries = s.entries.filter((e) => e.index < first).concat(rd.entries);
        }
        if (rd.hardState) s.hs = rd.hardState;
        for (const o of rd.messages) {
          this.sent.push({ from: id, to: o.to, m: o.message });
          this.queue.push({ from: id, to: o.to, m: o.message });
        }
        if (rd.snapshot) this.applied.set(id, []);
        for (const e of rd.committedEntries) (this.applied.get(id) as LogEntry[]).push(e);
        for (const rs of rd.readStates) this.readStates.set(id, [...(this.readStates.get(id) ?? []), rs]);
        r.advance(rd);
      }
    }
  }

  /** Delivers queued messages (and everything they cause) until the queue is empty. */
  deliver(max = 100000): void {
    this.process();
    let n = 0;
    while (this.queue.length > 0 && n++ < max) {
      const q = this.queue.shift() as { from: string; to: string; m: RaftMessage };
      if (this.down.has(q.to) || this.cut.has(`${q.from}>${q.to}`)) continue;
      if (this.filter?.(q.from, q.to, q.m)) continue;
      const r = this.core(q.to);
      r.tick(this.now);
      r.step(q.from, q.m);
      this.process();
    }
  }

  /** Advances time by `ms` in steps of `step`, ticking every live core and delivering. */
  run(ms: number, step = 5): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + step);
      for (const id of this.ids) if (!this.down.has(id)) this.core(id).tick(this.now);
      this.deliver();
    }
  }

  leaders(): string[] {
    return this.ids.filter((id) => !this.down.has(id) && this.core(id).role === 'leader');
  }

  /** Runs until exactly one live leader exists (max `ms`). */
  elect(ms = 3000): string {
    const end = this.now + ms;
    while (this.now < end) {
      this.run(5);
      const l = this.leaders();
      if (
        l.length === 1 &&
        this.core(l[0] as string).status().commitIndex >= this.core(l[0] as string).log.lastIndex()
      )
        return l[0] as string;
    }
    throw new Error(`no leader within ${ms} ms`);
  }

  propose(id: string, text: string): { index: number; term: number } {
    const r = this.core(id).propose(new TextEncoder().encode(text));
    this.deliver();
    return r;
  }

  appliedCommands(id: string): string[] {
    return (this.applied.get(id) as LogEntry[])
      .filter((e) => e.entryType === 'command')
      .map((e) => new TextDecoder().decode(e.command));
  }
}

/**
 * Members a, b, c, d where only a, b and c start as voters and d is outside the configuration (to
 * be added by a test, or started as a joining member with `wipeAndJoin('d')`).
 */
export function threeVotersAndD(seed: number, cfg: Partial<RaftConfig> = {}): CoreNet {
  return new CoreNet(
    ['a', 'b', 'c', 'd'],
    { initialConfig: { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [], addresses: [] }, ...cfg },
    seed,
  );
}
