/**
 * Linearizability checking: the Wing-Gong search with Lowe's improvements (a linked list of
 * call/return entries, lifting linearized operations out, and a cache of (linearized set, model
 * state) pairs already explored, so each configuration is visited once), run per partition.
 *
 * Tie rule: a call and a return at the same time are taken as concurrent (calls sort first).
 * Indeterminate operations return at +infinity: once every completed operation is linearized the
 * history is accepted, which is the same as those operations never taking effect.
 */
import { type Model, type Operation, stableHash } from './model.js';
import { renderTimeline } from './timeline.js';

/** Options of `checkLinearizability`. */
export interface CheckOptions {
  /** Search steps per partition before giving up with `unknown` (default 5,000,000). */
  maxSteps?: number;
}

/** Where the search got stuck in the first non-linearizable partition. */
export interface Violation<I, O> {
  /** Index of the partition (in `model.partition` order). */
  partition: number;
  /** The partition's operations. */
  operations: Operation<I, O>[];
  /** The longest sequence of operations the search could linearize, in linearization order. */
  longestPrefix: Operation<I, O>[];
  /** An operation that could not be linearized after that prefix before it returned. */
  stuckAt: Operation<I, O>;
  /** A text timeline of the partition, marking the prefix and the stuck operation. */
  timeline: string;
}

/** Result of a check. */
export interface CheckResult<I, O> {
  /** `true`: linearizable; `false`: not; `'unknown'`: the step budget ran out. */
  linearizable: boolean | 'unknown';
  partitions: number;
  /** Search steps over all partitions. */
  steps: number;
  violation?: Violation<I, O>;
}

/** Checks `history` against `model` (see module doc). */
export function checkLinearizability<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  for (const op of history) {
    if (!Number.isFinite(op.call) || (op.ret !== null && !(op.ret >= op.call))) {
      throw new RangeError(`operation of process ${op.process} has call ${op.call} and return ${op.ret}`);
    }
  }
  const parts = model.partition ? model.partition(history) : [[...history]];
  let steps = 0;
  let unknown = false;
  for (let p = 0; p < parts.length; p++) {
    const ops = parts[p] as Operation<I, O>[];
    const r = searchPartition(model, ops, options.maxSteps ?? 5_000_000);
    steps += r.steps;
    if (r.ok === 'unknown') {
      unknown = true;
      continue;
    }
    if (!r.ok) {
      const longestPrefix = r.prefix.map((i) => ops[i] as Operation<I, O>);
      const stuckAt = ops[r.stuck] as Operation<I, O>;
      return {
        linearizable: false,
        partitions: parts.length,
        steps,
        violation: {
          partition: p,
          operations: ops,
          longestPrefix,
          stuckAt,
          timeline: renderTimeline(ops, { model, linearized: r.prefix, stuck: r.stuck }),
        },
      };
    }
  }
  return { linearizable: unknown ? 'unknown' : true, partitions: parts.length, steps };
}

interface SearchOutcome {
  ok: boolean | 'unknown';
  steps: number;
  prefix: number[];
  stuck: number;
}

function searchPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  maxSteps: number,
): SearchOutcome {
  const n = ops.length;
  if (n === 0) return { ok: true, steps: 0, prefix: [], stuck: -1 };
  // Entries 0..n-1 are calls, n..2n-1 returns; HEAD = 2n is the sentinel; -1 ends the list.
  const time = (e: number) =>
    e < n
      ? (ops[e] as Operation<I, O>).call
      : ((ops[e - n] as Operation<I, O>).ret ?? Number.POSITIVE_INFINITY);
  const order = Array.from({ length: 2 * n }, (_, i) => i).sort(
    (a, b) => time(a) - time(b) || (a < n ? 0 : 1) - (b < n ? 0 : 1) || a - b,
  );
  const HEAD = 2 * n;
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  let last = HEAD;
  for (const e of order) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  next[last] = -1;
  const lift = (c: number) => {
    for (const e of [c, c + n]) {
      next[prev[e] as number] = next[e] as number;
      if ((next[e] as number) >= 0) prev[next[e] as number] = prev[e] as number;
    }
  };
  const unlift = (c: number) => {
    for (const e of [c + n, c]) {
      next[prev[e] as number] = e;
      if ((next[e] as number) >= 0) prev[next[e] as number] = e;
    }
  };
  const hash = model.hash ?? ((s: S) => stableHash(s));
  const words = new Uint32Array(Math.ceil(n / 32));
  const bitsKey = () => Array.from(words, (w) => w.toString(36)).join('.');
  const cache = new Set<string>();
  const stack: { call: number; state: S }[] = [];
  let state = model.init();
  let entry = next[HEAD] as number;
  let steps = 0;
  let best: { prefix: number[]; stuck: number } = { prefix: [], stuck: 0 };
  while (next[HEAD] !== -1) {
    if (++steps > maxSteps) return { ok: 'unknown', steps, prefix: [], stuck: -1 };
    if (entry < n) {
      const op = ops[entry] as Operation<I, O>;
      const [ok, ns] = model.step(state, op.input, op.output);
      if (ok) {
        words[entry >> 5] = (words[entry >> 5] as number) | (1 << (entry & 31));
        const key = `${bitsKey()}|${hash(ns)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = ns;
          lift(entry);
          entry = next[HEAD] as number;
          continue;
        }
        words[entry >> 5] = (words[entry >> 5] as number) & ~(1 << (entry & 31));
      }
      entry = next[entry] as number;
    } else {
      if ((ops[entry - n] as Operation<I, O>).ret === null) return { ok: true, steps, prefix: [], stuck: -1 };
      if (stack.length >= best.prefix.length) best = { prefix: stack.map((s) => s.call), stuck: entry - n };
      const top = stack.pop();
      if (!top) return { ok: false, steps, ...best };
      words[top.call >> 5] = (words[top.call >> 5] as number) & ~(1 << (top.call & 31));
      state = top.state;
      unlift(top.call);
      entry = next[top.call] as number;
    }
  }
  return { ok: true, steps, prefix: [], stuck: -1 };
}
