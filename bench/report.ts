/**
 * Benchmark report: the side-by-side table on stdout (ours vs the baseline, with the ratio), the
 * JSON document written by `--json FILE`, and a progress bar drawn only when stdout is a TTY (so
 * piped output and CI logs contain the table and nothing else).
 */
import type { FloorResult } from './floor.js';
import { perRoundRatios } from './rounds.js';
import type { Metric, WorkloadResult } from './workloads/types.js';

/** Everything one bench run produced. */
export interface BenchReport {
  /** JSON schema version of this document. */
  version: 1;
  /** ISO time the run started (reporting only; never used for measuring). */
  startedAt: string;
  host: {
    node: string;
    platform: string;
    arch: string;
    cpus: number;
    cpuModel: string;
    /** 1, 5 and 15 minute load averages when the run started: a busy host makes noisy figures. */
    loadavg: number[];
  };
  /** Column order of the table: the subject first (`ours`), then the baseline (`etcd`). */
  targets: string[];
  workloads: { id: string; title: string; ops: number; maxMs: number }[];
  results: WorkloadResult[];
  /**
   * With `--rounds K` (K > 1): each round's own results, targets in alternating order; `results`
   * then holds the per-metric medians over the rounds (`rounds.ts`).
   */
  rounds?: WorkloadResult[][];
  floor?: FloorResult;
  /** Per-target notes on how operations map (printed under the table). */
  notes: string[];
}

/** Formats a figure: ms with ~3 significant digits, ops/s as an integer. */
export function formatValue(value: number, unit: Metric['unit']): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'ops/s') return `${Math.round(value)}`;
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toFixed(digits);
}

/**
 * `subject / baseline` as `1.23x`, or `-` when either is missing or the baseline is 0. For `ms`
 * metrics below 1 means the subject is faster; for `ops/s` above 1 means it is faster.
 */
export function formatRatio(subject: number | undefined, baseline: number | undefined): string {
  if (subject === undefined || baseline === undefined || baseline === 0) return '-';
  return `${(subject / baseline).toFixed(2)}x`;
}

function findResult(results: readonly WorkloadResult[], workload: string, target: string) {
  return results.find((r) => r.workload === workload && r.target === target);
}

function cell(r: WorkloadResult | undefined, metric: string, unit: Metric['unit']): string {
  if (r === undefined) return '-';
  if (r.status === 'n/a') return 'n/a';
  if (r.status === 'error') return 'error';
  const m = r.metrics.find((x) => x.name === metric);
  if (m === undefined) return '-';
  return `${formatValue(m.value, unit)}${r.truncated ? '*' : ''}`;
}

/** Pads a table (array of rows of cells) into aligned pipe-separated lines (Markdown-compatible). */
export function renderTable(header: string[], rows: string[][], alignRight: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (alignRight[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (alignRight[i] ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}

/**
 * The summary table. One row per (workload, metric), one column per target in `report.targets`,
 * and a ratio column `first / second` when there are two targets. A `*` marks a figure whose run
 * hit its time bound before its op count. Below the table: the floor, and each note once.
 */
export function formatTable(report: BenchReport): string {
  const targets = report.targets;
  const withRatio = targets.length === 2;
  const header = [
    'workload',
    'metric',
    ...targets.map((t) => t),
    ...(withRatio ? [`${targets[0]}/${targets[1]}`] : []),
  ];
  const rows: string[][] = [];
  for (const w of report.workloads) {
    // The metric list comes from whichever target produced figures (all targets run the same code).
    const metrics = report.results.find((r) => r.workload === w.id && r.metrics.length > 0)?.metrics ?? [];
    if (metrics.length === 0) {
      rows.push([w.title, '-', ...targets.map((t) => cell(findResult(report.results, w.id, t), '', 'ms'))]);
      if (withRatio) rows[rows.length - 1]!.push('-');
      continue;
    }
    metrics.forEach((m, i) => {
      const row = [i === 0 ? w.title : '', m.name === m.unit ? m.name : `${m.name} (${m.unit})`];
      for (const t of targets) row.push(cell(findResult(report.results, w.id, t), m.name, m.unit));
      if (withRatio) {
        const v = (t: string) => {
          const r = findResult(report.results, w.id, t);
          return r?.status === 'ok' ? r.metrics.find((x) => x.name === m.name)?.value : undefined;
        };
        row.push(formatRatio(v(targets[0]!), v(targets[1]!)));
      }
      rows.push(row);
    });
  }
  const align = header.map((_, i) => i >= 2);
  const out = [renderTable(header, rows, align)];
  if (withRatio)
    out.push(`ratio = ${targets[0]} / ${targets[1]}: for ms lower is better, for ops/s higher is better.`);
  if (report.results.some((r) => r.truncated)) out.push('* stopped by the time bound before its op count.');
  if (report.rounds !== undefined && report.rounds.length > 1) {
    out.push(
      `${report.rounds.length} rounds, targets in alternating order; each figure is the median of its rounds.`,
    );
    if (withRatio) {
      for (const w of report.workloads) {
        const first = report.results.find((r) => r.workload === w.id && r.metrics.length > 0)?.metrics[0];
        if (first === undefined) continue;
        const ratios = perRoundRatios(report.rounds, w.id, first.name, targets[0]!, targets[1]!);
        out.push(
          `  ${w.id} ${first.name} ${targets[0]}/${targets[1]} per round: ${ratios.map((x) => (Number.isNaN(x) ? '-' : `${x.toFixed(2)}x`)).join(' ')}`,
        );
      }
    }
  }
  const errors = report.results.filter((r) => r.status !== 'ok' && r.reason !== undefined);
  for (const e of errors) out.push(`${e.target} ${e.workload}: ${e.status}: ${e.reason}`);
  if (report.floor !== undefined) {
    const f = report.floor;
    out.push(
      `floor = fdatasync p50 + 2 x loopback RTT p50 = ${formatValue(f.fdatasync.p50, 'ms')} + 2 x ${formatValue(f.rtt.p50, 'ms')} = ${formatValue(f.floorMs, 'ms')} ms` +
        ` (fdatasync p99 ${formatValue(f.fdatasync.p99, 'ms')} ms, 4 KiB, n=${f.fdatasync.count}; RTT p99 ${formatValue(f.rtt.p99, 'ms')} ms, n=${f.rtt.count})`,
    );
    const q = f.quorumFdatasync;
    const shared = f.sharedDiskFloorMs;
    if (q !== undefined && shared !== undefined) {
      out.push(
        `shared-disk floor (3 members on this one disk) = 2nd of 3 simultaneous fdatasyncs p50 + 2 x RTT p50 = ${formatValue(q.p50, 'ms')} + 2 x ${formatValue(f.rtt.p50, 'ms')} = ${formatValue(shared, 'ms')} ms` +
          ` (p99 ${formatValue(q.p99, 'ms')} ms${f.soloFdatasync ? `; one writer alone, same probe: p50 ${formatValue(f.soloFdatasync.p50, 'ms')} ms` : ''}; 312 B pwrite + fdatasync into zero-filled files, 1 ms pause between rounds, n=${q.count})`,
      );
    }
    for (const t of targets) {
      const p50 = findResult(report.results, 'put-latency', t)?.metrics.find((m) => m.name === 'p50')?.value;
      if (p50 !== undefined && f.floorMs > 0) {
        const vsShared =
          shared !== undefined && shared > 0 ? `, ${(p50 / shared).toFixed(2)} x shared-disk floor` : '';
        out.push(`${t}: sequential put p50 = ${(p50 / f.floorMs).toFixed(2)} x floor${vsShared}`);
      }
    }
  }
  for (const n of new Set(report.notes)) out.push(`note: ${n}`);
  const h = report.host;
  out.push(
    `host: node ${h.node}, ${h.platform}/${h.arch}, ${h.cpus} x ${h.cpuModel}, load avg at start ${h.loadavg.map((l) => l.toFixed(2)).join(' ')}`,
  );
  return out.join('\n');
}

/**
 * The JSON document for `--json FILE`. Raw samples are dropped unless `includeSamples` (they are
 * large); summaries and metrics always stay.
 */
export function toJson(report: BenchReport, includeSamples = false): string {
  const strip = (rs: readonly WorkloadResult[]) =>
    rs.map((r) => {
      if (includeSamples) return r;
      const { samples: _samples, ...rest } = r;
      return rest;
    });
  const rounds = report.rounds?.map(strip);
  return `${JSON.stringify({ ...report, results: strip(report.results), ...(rounds ? { rounds } : {}) }, null, 2)}\n`;
}

/** A progress bar; every method is a no-op when the stream is not a TTY. */
export interface Progress {
  update(label: string, done: number, total: number): void;
  /** Clears the bar line. */
  end(): void;
}

/** Creates a progress bar on `stream` (default stdout), redrawn at most every 100 ms. */
export function createProgress(
  stream: NodeJS.WriteStream & { isTTY?: boolean } = process.stdout,
  width = 30,
): Progress {
  if (!stream.isTTY) return { update: () => undefined, end: () => undefined };
  let last = 0;
  let drawn = false;
  return {
    update(label, done, total) {
      const now = performance.now();
      if (done < total && now - last < 100) return;
      last = now;
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(frac * width);
      stream.write(`\r${'#'.repeat(filled)}${'.'.repeat(width - filled)} ${label} ${done}/${total}\x1b[K`);
      drawn = true;
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
