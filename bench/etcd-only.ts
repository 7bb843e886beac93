/**
 * Standalone entry: starts a real 3-member etcd cluster on 127.0.0.1, runs every workload against
 * it alone, measures the physical floor on the same file system, prints the table (with an empty
 * `ours` column until our cluster is plugged in) and stops the cluster.
 *
 *   node dist/bench/etcd-only.js [--json FILE] [--plot FILE.svg] [--scale X] [--max-ms N] [--data DIR]
 *
 * Also importable (the gated vitest `test/bench/etcd-figures.test.ts` calls `runEtcdOnly`), since
 * Node 20 cannot run the TypeScript source directly.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startEtcdCluster } from './baselines/etcd-cluster.js';
import { measureFloor } from './floor.js';
import type { BenchReport } from './report.js';
import { runBench } from './run-bench.js';
import { connectEtcdTarget } from './targets/etcd-target.js';
import { defaultWorkloads } from './workloads/index.js';

/** Options of `runEtcdOnly`. */
export interface EtcdOnlyOptions {
  /** Multiplies every workload's op count (default 1). */
  scale?: number;
  /** Time bound per workload in ms (default 30 s). */
  maxMs?: number;
  /** Where the cluster's data (and the floor's probe file) live (default `$TMPDIR/vibee-bench`). */
  dataRoot?: string;
  json?: string;
  plot?: string;
  /** Table output (default stdout; null for none). */
  out?: NodeJS.WritableStream | null;
  /** Lock API for etcd (default: v3lock when the gateway answers). */
  lockApi?: 'v3lock' | 'recipe';
}

/** Runs the suite against etcd alone plus the floor; always stops the cluster. */
export async function runEtcdOnly(opts: EtcdOnlyOptions = {}): Promise<BenchReport> {
  const dataRoot = opts.dataRoot ?? join(tmpdir(), 'vibee-bench');
  const cluster = await startEtcdCluster({ members: 3, dataRoot });
  try {
    const target = await connectEtcdTarget({
      endpoints: cluster.endpoints,
      ...(opts.lockApi === undefined ? {} : { lockApi: opts.lockApi }),
    });
    try {
      // Floor first, while the disk is quiet; same file system as etcd's data dirs.
      const floor = await measureFloor(dataRoot);
      return await runBench({
        targets: [target],
        workloads: defaultWorkloads(opts.scale ?? 1, opts.maxMs ?? 30_000),
        columns: ['ours', 'etcd'],
        floor,
        ...(opts.json === undefined ? {} : { json: opts.json }),
        ...(opts.plot === undefined ? {} : { plot: opts.plot }),
        ...(opts.out === undefined ? {} : { out: opts.out }),
      });
    } finally {
      await target.close();
    }
  } finally {
    await cluster.stop();
  }
}

/** Parses the command line of the standalone entry. */
export function parseEtcdOnlyArgs(argv: string[]): EtcdOnlyOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'string' },
      plot: { type: 'string' },
      scale: { type: 'string' },
      'max-ms': { type: 'string' },
      data: { type: 'string' },
      'lock-api': { type: 'string' },
    },
  });
  const num = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
    return n;
  };
  const lockApi = values['lock-api'];
  if (lockApi !== undefined && lockApi !== 'v3lock' && lockApi !== 'recipe') {
    throw new Error(`--lock-api must be v3lock or recipe, got ${lockApi}`);
  }
  const opts: EtcdOnlyOptions = {};
  const scale = num('scale', values.scale);
  const maxMs = num('max-ms', values['max-ms']);
  if (scale !== undefined) opts.scale = scale;
  if (maxMs !== undefined) opts.maxMs = maxMs;
  if (values.json !== undefined) opts.json = values.json;
  if (values.plot !== undefined) opts.plot = values.plot;
  if (values.data !== undefined) opts.dataRoot = values.data;
  if (lockApi !== undefined) opts.lockApi = lockApi;
  return opts;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runEtcdOnly(parseEtcdOnlyArgs(process.argv.slice(2))).catch((err: unknown) => {
    process.stderr.write(`etcd-only bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
