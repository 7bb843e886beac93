/**
 * The simulated network: link behaviour (loss, duplication, delay) and faults (partitions,
 * blocked links, isolated nodes), plus per-pair counters. Delivery itself is scheduled by the
 * world (see `world.ts`), which owns the event queue and the node lifecycle; this module decides
 * what happens to each frame and keeps the statistics.
 *
 * Randomness: each directed link draws from its own forked stream (`net/FROM->TO`), so traffic on
 * one link never changes the fate of frames on another.
 */
import type { Prng } from './prng.js';

/** How a directed link treats frames. Delays are uniform in [minDelayMs, maxDelayMs]; two frames
 * sent in a row can therefore arrive in the opposite order (reordering). */
export interface LinkConfig {
  /** Probability that a frame is lost. */
  dropRate: number;
  /** Probability that a (not lost) frame is delivered twice (each copy with its own delay). */
  duplicateRate: number;
  /** Minimum one-way delay (virtual ms). */
  minDelayMs: number;
  /** Maximum one-way delay (virtual ms). */
  maxDelayMs: number;
  /** Probability that a frame is slow: its delay is then uniform in [maxDelayMs, slowMaxDelayMs]
   * (a long tail that reorders across timeouts). Default 0. */
  slowRate?: number;
  /** Upper bound of a slow frame's delay. Default: maxDelayMs (no tail). */
  slowMaxDelayMs?: number;
}

/** Default link: reliable, 1 to 5 ms. */
export const DEFAULT_LINK: Readonly<LinkConfig> = Object.freeze({
  dropRate: 0,
  duplicateRate: 0,
  minDelayMs: 1,
  maxDelayMs: 5,
});

/** Counters for one directed pair. Every frame sent is counted once in `sent`; each copy that
 * reaches the receiver's handler in `delivered`; each loss (random, cut link, receiver down) in
 * `dropped`; each extra copy in `duplicated`. */
export interface LinkStats {
  from: string;
  to: string;
  sent: number;
  bytesSent: number;
  delivered: number;
  bytesDelivered: number;
  dropped: number;
  duplicated: number;
}

/** Why a frame was lost (recorded in the trace). */
export type DropReason = 'random' | 'cut' | 'down' | 'unknown' | 'no-handler';

/** What the world provides to the network. */
export interface NetworkHost {
  /** Ids of all nodes created so far, in creation order. */
  nodeIds(): string[];
  /** The root stream to fork link streams from. */
  rng: Prng;
}

/** Link behaviour, faults and counters of the simulated network. */
export class SimNetwork {
  private defaults: LinkConfig = { ...DEFAULT_LINK };
  private readonly links = new Map<string, Partial<LinkConfig>>();
  private readonly rngs = new Map<string, Prng>();
  private readonly counters = new Map<string, LinkStats>();
  private readonly blocked = new Set<string>();
  private readonly isolated = new Set<string>();
  private groups: Map<string, number> | null = null;
  private readonly faultRng: Prng;

  /** Used by the world; applications get it as `world.network`. */
  constructor(private readonly host: NetworkHost) {
    this.faultRng = host.rng.fork('net-faults');
  }

  /** Changes the default behaviour of every link without its own settings. */
  setDefaults(cfg: Partial<LinkConfig>): void {
    this.defaults = validate({ ...this.defaults, ...cfg });
  }

  /** Overrides the behaviour of the directed link `from -> to` (merged over the defaults). */
  setLink(from: string, to: string, cfg: Partial<LinkConfig>): void {
    const k = key(from, to);
    validate({ ...this.defaults, ...this.links.get(k), ...cfg });
    this.links.set(k, { ...this.links.get(k), ...cfg });
  }

  /** Removes a link's own settings (it follows the defaults again). */
  clearLink(from: string, to: string): void {
    this.links.delete(key(from, to));
  }

  /** The effective behaviour of `from -> to`. */
  linkConfig(from: string, to: string): LinkConfig {
    const own = this.links.get(key(from, to));
    return own ? { ...this.defaults, ...own } : this.defaults;
  }

  /**
   * Symmetric partition: nodes in different groups cannot talk. Nodes named in no group form one
   * more group together. Replaces any earlier `partition` (blocked links and isolation stay).
   */
  partition(...groups: string[][]): void {
    const g = new Map<string, number>();
    groups.forEach((members, i) => {
      for (const id of members) {
        if (g.has(id)) throw new Error(`partition: node ${id} is in two groups`);
        g.set(id, i);
      }
    });
    this.groups = g;
  }

  /**
   * Splits the known nodes (or `ids`) at random into two non-empty groups, applies it as a
   * `partition` and returns the groups (larger first). Needs at least two nodes.
   */
  randomSplit(ids: string[] = this.host.nodeIds()): [string[], string[]] {
    if (ids.length < 2) throw new Error('randomSplit: needs at least two nodes');
    const order = this.faultRng.shuffle(ids);
    const cut = this.faultRng.int(1, order.length - 1);
    let a = order.slice(0, cut);
    let b = order.slice(cut);
    if (b.length > a.length) [a, b] = [b, a];
    this.partition(a, b);
    return [a, b];
  }

  /** Asymmetric fault: frames from `from` to `to` are lost (the reverse direction still works). */
  blockLink(from: string, to: string): void {
    this.blocked.add(key(from, to));
  }

  /** Undoes `blockLink`. */
  unblockLink(from: string, to: string): void {
    this.blocked.delete(key(from, to));
  }

  /** Cuts `id` off from every other node, in both directions. */
  isolate(id: string): void {
    this.isolated.add(id);
  }

  /** Undoes `isolate(id)`. */
  rejoin(id: string): void {
    this.isolated.delete(id);
  }

  /** Removes every partition, blocked link and isolation (link configs stay). */
  heal(): void {
    this.groups = null;
    this.blocked.clear();
    this.isolated.clear();
  }

  /** True when a frame from `from` to `to` would be cut by a fault (checked at send and again at
   * delivery, so frames in flight across a link that gets cut are lost as well). */
  isCut(from: string, to: string): boolean {
    if (from === to) return false;
    if (this.isolated.has(from) || this.isolated.has(to)) return true;
    if (this.blocked.has(key(from, to))) return true;
    if (this.groups) {
      const ga = this.groups.get(from) ?? -1;
      const gb = this.groups.get(to) ?? -1;
      if (ga !== gb) return true;
    }
    return false;
  }

  /**
   * Decides the fate of one frame: returns the delays of the copies to deliver (empty when lost)
   * and counts it. `reason` is set when the frame is lost.
   */
  route(from: string, to: string, bytes: number): { delays: number[]; reason?: DropReason } {
    const s = this.stat(from, to);
    s.sent++;
    s.bytesSent += bytes;
    if (this.isCut(from, to)) {
      s.dropped++;
      return { delays: [], reason: 'cut' };
    }
    const cfg = this.linkConfig(from, to);
    const rng = this.linkRng(from, to);
    if (rng.chance(cfg.dropRate)) {
      s.dropped++;
      return { delays: [], reason: 'random' };
    }
    const delay = () =>
      cfg.slowRate && rng.chance(cfg.slowRate)
        ? rng.range(cfg.maxDelayMs, cfg.slowMaxDelayMs ?? cfg.maxDelayMs)
        : rng.range(cfg.minDelayMs, cfg.maxDelayMs);
    const delays = [delay()];
    if (rng.chance(cfg.duplicateRate)) {
      s.duplicated++;
      delays.push(delay());
    }
    return { delays };
  }

  /** Counts a copy that reached the receiver's handler. */
  countDelivered(from: string, to: string, bytes: number): void {
    const s = this.stat(from, to);
    s.delivered++;
    s.bytesDelivered += bytes;
  }

  /** Counts a copy lost after `route` accepted it (link cut in flight, receiver down). */
  countDropped(from: string, to: string): void {
    this.stat(from, to).dropped++;
  }

  /** Counters per directed pair that saw traffic, sorted by (from, to). */
  stats(): LinkStats[] {
    return [...this.counters.values()]
      .map((s) => ({ ...s }))
      .sort((x, y) => (x.from < y.from ? -1 : x.from > y.from ? 1 : x.to < y.to ? -1 : x.to > y.to ? 1 : 0));
  }

  /** Sums of all counters (`from`/`to` are `*`). */
  totals(): LinkStats {
    const t = emptyStats('*', '*');
    for (const s of this.counters.values()) {
      t.sent += s.sent;
      t.bytesSent += s.bytesSent;
      t.delivered += s.delivered;
      t.bytesDelivered += s.bytesDelivered;
      t.dropped += s.dropped;
      t.duplicated += s.duplicated;
    }
    return t;
  }

  /** Zeroes every counter (e.g. after warm-up, before measuring messages per idle second). */
  resetStats(): void {
    this.counters.clear();
  }

  private stat(from: string, to: string): LinkStats {
    const k = key(from, to);
    let s = this.counters.get(k);
    if (!s) {
      s = emptyStats(from, to);
      this.counters.set(k, s);
    }
    return s;
  }

  private linkRng(from: string, to: string): Prng {
    const k = key(from, to);
    let r = this.rngs.get(k);
    if (!r) {
      r = this.host.rng.fork(`net/${from}->${to}`);
      this.rngs.set(k, r);
    }
    return r;
  }
}

function key(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

function emptyStats(from: string, to: string): LinkStats {
  return { from, to, sent: 0, bytesSent: 0, delivered: 0, bytesDelivered: 0, dropped: 0, duplicated: 0 };
}

function validate(c: LinkConfig): LinkConfig {
  const prob = (n: number) => Number.isFinite(n) && n >= 0 && n <= 1;
  if (!prob(c.dropRate) || !prob(c.duplicateRate) || !prob(c.slowRate ?? 0)) {
    throw new RangeError('link rates must be in [0, 1]');
  }
  if (
    c.slowMaxDelayMs !== undefined &&
    !(c.slowMaxDelayMs >= c.maxDelayMs && Number.isFinite(c.slowMaxDelayMs))
  ) {
    throw new RangeError('slowMaxDelayMs must be finite and >= maxDelayMs');
  }
  if (!(c.minDelayMs >= 0) || !(c.maxDelayMs >= c.minDelayMs) || !Number.isFinite(c.maxDelayMs)) {
    throw new RangeError('link delays must satisfy 0 <= minDelayMs <= maxDelayMs < Infinity');
  }
  return c;
}
