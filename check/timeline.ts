/**
 * A text timeline of a history: one row per operation, grouped by process, bars scaled to time.
 * Used for the first violation a check finds: operations of the longest linearizable prefix are
 * numbered in linearization order, the operation the search got stuck on is marked `!!`.
 */
import type { Model, Operation } from './model.js';

/** Options of `renderTimeline`. */
export interface TimelineOptions<S, I, O> {
  model?: Model<S, I, O>;
  /** Indexes (into `ops`) of the linearized prefix, in order. */
  linearized?: readonly number[];
  /** Index of the stuck operation. */
  stuck?: number;
  /** Bar width in characters (default 60). */
  width?: number;
}

function show(v: unknown): string {
  if (v === undefined) return '?';
  return JSON.stringify(v, (_k, x) =>
    typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x,
  );
}

/** Renders the timeline (see module doc). */
export function renderTimeline<S, I, O>(
  ops: readonly Operation<I, O>[],
  o: TimelineOptions<S, I, O> = {},
): string {
  const width = o.width ?? 60;
  const describe = (op: Operation<I, O>) =>
    o.model?.describe?.(op.input, op.output) ?? `${show(op.input)} -> ${show(op.output)}`;
  const finite = ops.flatMap((op) => (op.ret === null ? [op.call] : [op.call, op.ret]));
  const t0 = Math.min(...finite);
  const t1 = Math.max(...finite);
  const span = Math.max(1, t1 - t0);
  const col = (t: number) => Math.round(((t - t0) / span) * (width - 1));
  const order = new Map((o.linearized ?? []).map((i, k) => [i, k + 1]));
  const idx = ops
    .map((_, i) => i)
    .sort((a, b) => {
      const x = ops[a] as Operation<I, O>;
      const y = ops[b] as Operation<I, O>;
      return String(x.process).localeCompare(String(y.process)) || x.call - y.call;
    });
  const lines: string[] = [
    `time ${t0} .. ${t1} (${width} columns); #k = k-th in the longest linearizable prefix, !! = cannot be linearized there`,
  ];
  for (const i of idx) {
    const op = ops[i] as Operation<I, O>;
    const a = col(op.call);
    const b = op.ret === null ? width - 1 : Math.max(a, col(op.ret));
    const bar = `${' '.repeat(a)}[${'-'.repeat(Math.max(0, b - a))}${op.ret === null ? '>' : ']'}`.padEnd(
      width + 2,
    );
    const mark = i === o.stuck ? '!!' : order.has(i) ? `#${order.get(i)}` : '  ';
    const when = op.ret === null ? `${op.call}..?` : `${op.call}..${op.ret}`;
    lines.push(`${String(op.process).padEnd(8)} ${bar} ${mark.padEnd(4)} ${describe(op)}  @${when}`);
  }
  if (o.linearized && o.stuck !== undefined && o.stuck >= 0) {
    lines.push('', 'longest linearizable prefix:');
    for (const [k, i] of o.linearized.entries())
      lines.push(`  ${k + 1}. ${describe(ops[i] as Operation<I, O>)}`);
    lines.push(`then stuck: ${describe(ops[o.stuck] as Operation<I, O>)} returns before it can take effect`);
  }
  return lines.join('\n');
}
