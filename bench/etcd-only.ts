/**
 * Standalone entry: starts a real 3-member etcd cluster on 127.0.0.1, runs every workload against
 * it alone, measures the physical floor on the same file system, prints the table (with an empty
 * `ours` column until our cluster is plugged in) and stops the cluster.
 *
 *   node dist/bench/etcd-only.js [--json FILE] [--plot FILE.svg] [--scale X] [--max-ms N] [--data DIR]
 *                               [--workloads id,...] [--lock-api v3lock|recipe] [--samples]
 *
 * Also importable (the gated vitest `test/bench/etcd-figures.test.ts` calls `runEtcdOnly`), since
 * Node 20 cannot run the TypeScript source directly.
 */
import { pathToFileURL } from 'node:url';
import { findEtcd, parseBenchArgs, runSuite, type SuiteOptions } from './main.js';
import type { BenchReport } from './report.js';

/** Options of `runEtcdOnly`: the suite's options; `targets` is forced to etcd (column `ours` kept empty). */
export type EtcdOnlyOptions = Omit<SuiteOptions, 'targets'>;

/** Runs the suite against etcd alone plus the floor; always stops the cluster. Throws without etcd. */
export async function runEtcdOnly(opts: EtcdOnlyOptions = {}): Promise<BenchReport> {
  if (findEtcd() === null) throw new Error('no etcd binary: run bench/setup-baselines.sh');
  const report = await runSuite({ ...opts, targets: ['ours', 'etcd'] }, { log: () => undefined });
  if (report === null) throw new Error('etcd target did not start');
  return report;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // ^C / SIGTERM: exit through process.exit so the clusters' 'exit' safety net kills etcd members.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  (async () => {
    const { targets: _ignored, ...opts } = parseBenchArgs(process.argv.slice(2));
    const report = await runEtcdOnly(opts);
    if (report.results.some((r) => r.status === 'error')) process.exitCode = 1;
  })().catch((err: unknown) => {
    process.stderr.write(`etcd-only bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
