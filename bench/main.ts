/**
 * The bench suite's command line, shared by `consensus bench` (the runtime CLI passes a hook that
 * starts our cluster) and the standalone `bench/etcd-only.ts`.
 *
 *   [--targets ours,etcd] [--workloads id,...] [--json FILE] [--plot FILE.svg] [--scale X]
 *   [--max-ms N] [--data DIR] [--lock-api v3lock|recipe] [--no-floor] [--samples] [--warmup-ms N]
 *   [--rounds K] (K interleaved passes, targets alternating their order; medians reported)
 *   [--etcd HOST:PORT,...] (an existing etcd cluster instead of starting one)
 *
 * etcd is a baseline, not a product dependency: its client (`etcd3`, a devDependency) is imported
 * only when the etcd target is requested, and a missing etcd binary skips that column with a
 * message instead of failing the run.
 */
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { EtcdCluster } from './baselines/etcd-cluster.js';
import { measureFloor } from './floor.js';
import type { BenchReport } from './report.js';
import { runBench } from './run-bench.js';
import type { BenchTarget } from './targets/types.js';
import { allWorkloads, defaultWorkloads } from './workloads/index.js';

/**
 * Default unmeasured warm-up per target (ms): steady state, not JIT warm-up, is what we compare.
 * Measured on the 2-core bench machine (one-second windows of sequential puts from a fresh
 * cluster): our p50 falls from 3.1 ms to 1.0 ms over the first 7 s while V8 optimizes the members'
 * and the client's code, then stays flat; the etcd3 client in this process warms up the same way.
 */
export const DEFAULT_WARMUP_MS = 10_000;

/** Default unmeasured sequential puts by each target right before each measured workload (`prime`). */
export const DEFAULT_PRIME_OPS = 200;

/** Options of `runSuite` (also what `parseBenchArgs` produces). */
export interface SuiteOptions {
  /** Columns to run, in table order (default `['ours', 'etcd']`). */
  targets?: string[];
  /** Workload ids to run, from `allWorkloads` (default: the `defaultWorkloads` suite). */
  workloads?: string[];
  scale?: number;
  maxMs?: number;
  /** Where clusters' data and the floor's probe file live (default `$TMPDIR/vibee-bench`). */
  dataRoot?: string;
  json?: string;
  plot?: string;
  /** Keep raw samples in the JSON. */
  samples?: boolean;
  /** Skip the floor measurement. */
  noFloor?: boolean;
  /** Unmeasured warm-up per target, ms (default DEFAULT_WARMUP_MS; 0 disables). */
  warmUpMs?: number;
  /** Unmeasured puts before each measured workload (default DEFAULT_PRIME_OPS; 0 disables). */
  primeOps?: number;
  /** Interleaved passes over the workloads (default 1; see rounds.ts). */
  rounds?: number;
  lockApi?: 'v3lock' | 'recipe';
  /** An existing etcd cluster's client endpoints (`HOST:PORT`): used instead of starting one. */
  etcdEndpoints?: string[];
  /** Table output (default stdout; null for none). */
  out?: NodeJS.WritableStream | null;
}

/** How the caller provides our cluster: start it under `dataRoot` and return it as a target. */
export interface SuiteHooks {
  startOurs?: (opts: { dataRoot: string }) => Promise<BenchTarget>;
  /** Where skip messages go (default stderr). */
  log?: (line: string) => void;
}

/** The etcd binary: /usr/bin/etcd, else the first `etcd` on PATH, else null. */
export function findEtcd(): string | null {
  const dirs = ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  for (const d of dirs) {
    const p = join(d, 'etcd');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

/**
 * Starts the requested targets, runs the workloads side by side, stops everything, and returns
 * the report (null when no target could be started). The table keeps the requested columns even
 * when one was skipped, so the layout is the same on every machine.
 */
export async function runSuite(opts: SuiteOptions = {}, hooks: SuiteHooks = {}): Promise<BenchReport | null> {
  const log = hooks.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const wanted = opts.targets ?? ['ours', 'etcd'];
  const dataRoot = opts.dataRoot ?? join(tmpdir(), 'vibee-bench');
  const targets: BenchTarget[] = [];
  const clusters: EtcdCluster[] = [];
  try {
    for (const name of wanted) {
      if (name === 'ours') {
        if (hooks.startOurs === undefined) log('bench: skipping ours: no cluster starter was provided');
        else targets.push(await hooks.startOurs({ dataRoot }));
      } else if (name === 'etcd' && opts.etcdEndpoints !== undefined) {
        const { connectEtcdTarget } = await import('./targets/etcd-target.js');
        targets.push(
          await connectEtcdTarget({
            endpoints: opts.etcdEndpoints,
            ...(opts.lockApi === undefined ? {} : { lockApi: opts.lockApi }),
          }),
        );
      } else if (name === 'etcd') {
        const bin = findEtcd();
        if (bin === null) {
          log('bench: skipping etcd: no etcd binary (run bench/setup-baselines.sh)');
          continue;
        }
        const { startEtcdCluster } = await import('./baselines/etcd-cluster.js');
        const { connectEtcdTarget } = await import('./targets/etcd-target.js');
        const cluster = await startEtcdCluster({ members: 3, dataRoot, etcdBin: bin });
        clusters.push(cluster);
        targets.push(
          await connectEtcdTarget({
            endpoints: cluster.endpoints,
            ...(opts.lockApi === undefined ? {} : { lockApi: opts.lockApi }),
          }),
        );
      } else {
        throw new Error(`unknown bench target: ${name} (known: ours, etcd)`);
      }
    }
    if (targets.length === 0) {
      log('bench: no target to run');
      return null;
    }
    let workloads = defaultWorkloads(opts.scale ?? 1, opts.maxMs ?? 30_000);
    if (opts.workloads !== undefined) {
      const known = allWorkloads(opts.scale ?? 1, opts.maxMs ?? 30_000);
      const unknown = opts.workloads.filter((id) => !known.some((w) => w.id === id));
      if (unknown.length > 0) {
        throw new Error(
          `unknown workload(s): ${unknown.join(', ')} (known: ${known.map((w) => w.id).join(', ')})`,
        );
      }
      workloads = known.filter((w) => opts.workloads!.includes(w.id));
    }
    // Floor first, while the disk is quiet; same file system as the clusters' data dirs.
    const floor = opts.noFloor ? undefined : await measureFloor(dataRoot);
    return await runBench({
      targets,
      workloads,
      columns: wanted,
      jsonSamples: opts.samples ?? false,
      warmUpMs: opts.warmUpMs ?? DEFAULT_WARMUP_MS,
      primeOps: opts.primeOps ?? DEFAULT_PRIME_OPS,
      rounds: opts.rounds ?? 1,
      ...(floor === undefined ? {} : { floor }),
      ...(opts.json === undefined ? {} : { json: opts.json }),
      ...(opts.plot === undefined ? {} : { plot: opts.plot }),
      ...(opts.out === undefined ? {} : { out: opts.out }),
    });
  } finally {
    await Promise.allSettled(targets.map((t) => t.close()));
    await Promise.allSettled(clusters.map((c) => c.stop()));
  }
}

/** Parses the suite's command line (see the module comment); throws on a bad value. */
export function parseBenchArgs(argv: string[]): SuiteOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      targets: { type: 'string' },
      workloads: { type: 'string' },
      json: { type: 'string' },
      plot: { type: 'string' },
      scale: { type: 'string' },
      'max-ms': { type: 'string' },
      data: { type: 'string' },
      'lock-api': { type: 'string' },
      etcd: { type: 'string' },
      'no-floor': { type: 'boolean' },
      samples: { type: 'boolean' },
      'warmup-ms': { type: 'string' },
      'prime-ops': { type: 'string' },
      rounds: { type: 'string' },
    },
  });
  const num = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
    return n;
  };
  const list = (v: string | undefined) =>
    v
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const lockApi = values['lock-api'];
  if (lockApi !== undefined && lockApi !== 'v3lock' && lockApi !== 'recipe') {
    throw new Error(`--lock-api must be v3lock or recipe, got ${lockApi}`);
  }
  const opts: SuiteOptions = {};
  const targets = list(values.targets);
  const workloads = list(values.workloads);
  const scale = num('scale', values.scale);
  const maxMs = num('max-ms', values['max-ms']);
  if (targets !== undefined) opts.targets = targets;
  if (workloads !== undefined) opts.workloads = workloads;
  if (scale !== undefined) opts.scale = scale;
  if (maxMs !== undefined) opts.maxMs = maxMs;
  if (values.json !== undefined) opts.json = values.json;
  if (values.plot !== undefined) opts.plot = values.plot;
  if (values.data !== undefined) opts.dataRoot = values.data;
  if (lockApi !== undefined) opts.lockApi = lockApi;
  const etcd = list(values.etcd);
  // etcd's client wants URLs; HOST:PORT is accepted as http://HOST:PORT.
  if (etcd !== undefined && etcd.length > 0)
    opts.etcdEndpoints = etcd.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
  if (values['no-floor']) opts.noFloor = true;
  if (values.samples) opts.samples = true;
  if (values.rounds !== undefined) {
    const k = Number(values.rounds);
    if (!Number.isInteger(k) || k < 1 || k > 100)
      throw new Error(`--rounds must be an integer from 1 to 100, got ${values.rounds}`);
    opts.rounds = k;
  }
  const warm = values['warmup-ms'];
  if (warm !== undefined) {
    const n = Number(warm);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--warmup-ms must be a number >= 0, got ${warm}`);
    opts.warmUpMs = n;
  }
  const primeOps = values['prime-ops'];
  if (primeOps !== undefined) {
    const n = Number(primeOps);
    if (!Number.isInteger(n) || n < 0 || n > 100_000)
      throw new Error(`--prime-ops must be an integer from 0 to 100000, got ${primeOps}`);
    opts.primeOps = n;
  }
  return opts;
}

/**
 * The entry `consensus bench` calls: parses `argv`, runs, and returns the exit code (0 ok,
 * 1 when a workload failed or nothing could run, 2 on bad arguments).
 */
export async function benchMain(argv: string[], hooks: SuiteHooks = {}): Promise<number> {
  let opts: SuiteOptions;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const report = await runSuite(opts, hooks);
  if (report === null) return 1;
  return report.results.some((r) => r.status === 'error') ? 1 : 0;
}
