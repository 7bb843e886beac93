import type { LogEntry, RaftMessage } from '../../generated/index.js';
import { createRaft, type Raft, type RaftConfig } from '../../runtime/raft/raft.js';

export type Verdict = 'deliver' | 'drop' | 'hold';

/**
 * A deterministic driver of pure cores for hand-scheduled scenarios: per-node constant randomness (so each
 * node's election timeout is fixed: min + floor(r * (max - min))), 1 ms time steps, every core
 * ticked to the current time before each step (as RaftNode.onFrame does), Ready contract honoured
 * (memory "disk": persist is immediate, then send, then apply), a policy deciding each message's fate.
 */
export class PolicyNet {
  readonly cores = new Map<string, Raft>();
  readonly applied = new Map<string, LogEntry[]>();
  readonly readStates = new Map<string, { index: number; ctx: string }[]>();
  queue: { from: string; to: string; m: RaftMessage }[] = [];
  held: { from: string; to: string; m: RaftMessage }[] = [];
  now = 0;
  policy: (from: string, to: string, m: RaftMessage) => Verdict = () => 'deliver';

  constructor(
    readonly ids: string[],
    private readonly cfg: Partial<RaftConfig> = {},
  ) {}

  /** Boots `id` now, with a fixed random value r in [0,1) (its timeout). */
  boot(id: string, r: number, extra: Partial<RaftConfig> = {}): Raft {
    const core = createRaft({
      ...this.cfg,
      ...extra,
      id,
      peers: this.ids,
      random: () => r,
      now: this.now,
    });
    this.cores.set(id, core);
    this.applied.set(id, []);
    this.readStates.set(id, []);
    return core;
  }

  core(id: string): Raft {
    return this.cores.get(id) as Raft;
  }

  process(): void {
    for (const [id, r] of this.cores) {
      while (r.hasReady()) {
        const rd = r.ready();
        for (const o of rd.messages) this.queue.push({ from: id, to: o.to, m: o.message });
        for (const e of rd.committedEntries) (this.applied.get(id) as LogEntry[]).push(e);
        for (const rs of rd.readStates)
          (this.readStates.get(id) as { index: number; ctx: string }[]).push(rs);
        r.advance(rd);
      }
    }
  }

  /** Delivers one message (ticking the receiver first). */
  stepOne(q: { from: string; to: string; m: RaftMessage }): void {
    const r = this.cores.get(q.to);
    if (!r) return;
    r.tick(this.now);
    r.step(q.from, q.m);
    this.process();
  }

  deliver(): void {
    this.process();
    let n = 0;
    while (this.queue.length > 0 && n++ < 100000) {
      const q = this.queue.shift() as { from: string; to: string; m: RaftMessage };
      if (!this.cores.has(q.to)) continue;
      const v = this.policy(q.from, q.to, q.m);
      if (v === 'drop') continue;
      if (v === 'hold') {
        this.held.push(q);
        continue;
      }
      this.stepOne(q);
    }
  }

  /** Advances time to `t` in 1 ms steps, ticking every core and delivering (zero latency). */
  runTo(t: number): void {
    while (this.now < t) {
      this.now += 1;
      for (const r of this.cores.values()) r.tick(this.now);
      this.deliver();
    }
  }

  /** Releases the held messages matching `pred` (in order), delivering them now. */
  release(pred: (q: { from: string; to: string; m: RaftMessage }) => boolean): number {
    const out = this.held.filter(pred);
    this.held = this.held.filter((q) => !pred(q));
    for (const q of out) this.stepOne(q);
    this.deliver();
    return out.length;
  }
}
