/**
 * Runs workloads against targets side by side and reports. Workloads run in order and, within a
 * workload, targets run one after the other on the same machine in the same process, so ambient
 * load affects both sides of a row alike; `rounds` repeats the whole pass with the targets'
 * order alternating, for figures that one slow minute of the disk cannot decide.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { type FloorResult, measureFloor } from './floor.js';
import { renderPlot } from './plot.js';
import { type BenchReport, createProgress, formatTable, toJson } from './report.js';
import { mergeRounds, roundOrder } from './rounds.js';
import type { BenchTarget } from './targets/types.js';
import { prime, warmUp } from './warm-up.js';
import type { Workload, WorkloadResult } from './workloads/types.js';

/** Options of `runBench`. */
export interface RunBenchOptions {
  targets: BenchTarget[];
  workloads: Workload[];
  /** Write the JSON report here. */
  json?: string;
  /** Write an SVG of the latency distributions here. */
  plot?: string;
  /** Keep raw samples in the JSON (default false). */
  jsonSamples?: boolean;
  /**
   * Table columns (default: the targets' names). Naming a column no target fills (e.g. `ours`
   * while our cluster is not plugged in) keeps the side-by-side layout with `-` cells.
   */
  columns?: string[];
  /** Measure the physical floor on this directory's file system (skipped when absent). */
  floorDir?: string;
  /** A floor measured beforehand (takes precedence over `floorDir`). */
  floor?: FloorResult;
  /** Where the table goes (default stdout); `null` prints nothing. */
  out?: NodeJS.WritableStream | null;
  /** Progress bar stream (default stdout; drawn only if it is a TTY). */
  progressStream?: NodeJS.WriteStream;
  /** Unmeasured warm-up per target before its first workload, in ms (default 0; see warm-up.ts). */
  warmUpMs?: number;
  /** Unmeasured sequential puts by a target right before each of its workloads (default 0; `prime`). */
  primeOps?: number;
  /**
   * Passes over the workloads (default 1). With more, the targets alternate their order per round
   * and each figure is the median of its rounds (`rounds.ts`).
   */
  rounds?: number;
}

/**
 * Runs every workload on every target and returns the report; prints the table and writes the
 * JSON / SVG files when asked. A workload that throws on one target is recorded as `error` with
 * the message and does not stop the rest of the run.
 */
export async function runBench(opts: RunBenchOptions): Promise<BenchReport> {
  const runId = `r${Date.now().toString(36)}`;
  const load = loadavg();
  const startedAt = new Date().toISOString();
  const progress = createProgress(opts.progressStream ?? process.stdout);
  const warmUpMs = opts.warmUpMs ?? 0;
  const primeOps = opts.primeOps ?? 0;
  for (const t of warmUpMs > 0 ? opts.targets : []) {
    progress.update(`${t.name} warm-up`, 0, 1);
    try {
      await warmUp(t, `${runId}/${t.name}`, warmUpMs);
    } catch {
      // A target that fails here fails its workloads too, each with its own message.
    } finally {
      await t.settle?.().catch(() => undefined);
    }
    progress.end();
  }
  const rounds = Math.max(1, Math.floor(opts.rounds ?? 1));
  const perRound: WorkloadResult[][] = [];
  for (let round = 0; round < rounds; round++) {
    const results: WorkloadResult[] = [];
    const tag = rounds > 1 ? `round ${round + 1}/${rounds} ` : '';
    for (const w of opts.workloads) {
      if (w.disruptive && round < rounds - 1) continue;
      for (const t of roundOrder(opts.targets, round)) {
        const label = `${tag}${t.name} ${w.id}`;
        const t0 = performance.now();
        try {
          if (primeOps > 0) {
            progress.update(`${label} (priming)`, 0, 1);
            await prime(t, `${runId}/${t.name}`, primeOps);
          }
          results.push(
            await w.run(t, {
              runId: `${runId}/${t.name}${rounds > 1 ? `/r${round}` : ''}`,
              progress: (done, total) => progress.update(label, done, total),
            }),
          );
        } catch (err) {
          results.push({
            workload: w.id,
            target: t.name,
            status: 'error',
            reason: err instanceof Error ? err.message : String(err),
            ops: 0,
            durationMs: performance.now() - t0,
            truncated: false,
            metrics: [],
          });
        } finally {
          await t.settle?.().catch(() => undefined); // best effort: only quiets the target
        }
        progress.end();
      }
    }
    perRound.push(results);
  }
  const results = mergeRounds(perRound);
  const floor = opts.floor ?? (opts.floorDir !== undefined ? await measureFloor(opts.floorDir) : undefined);
  const cpu = cpus();
  const report: BenchReport = {
    version: 1,
    startedAt,
    host: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      loadavg: load,
    },
    targets: opts.columns ?? opts.targets.map((t) => t.name),
    workloads: opts.workloads.map((w) => ({ id: w.id, title: w.title, ops: w.ops, maxMs: w.maxMs })),
    results,
    notes: [
      ...(warmUpMs > 0
        ? [
            `every target ran an unmeasured ${warmUpMs} ms warm-up (puts, 64 in flight, gets, locks) before its first workload`,
          ]
        : []),
      ...opts.targets.flatMap((t) => [...t.notes]),
    ],
  };
  if (floor !== undefined) report.floor = floor;
  if (rounds > 1) report.rounds = perRound;
  const out = opts.out === undefined ? process.stdout : opts.out;
  if (out !== null) out.write(`${formatTable(report)}\n`);
  if (opts.json !== undefined) await writeFile(opts.json, toJson(report, opts.jsonSamples ?? false));
  if (opts.plot !== undefined) await writeFile(opts.plot, renderPlot(report));
  return report;
}
