/**
 * Real etcd figures (the full suite, minutes): only with BENCH_ETCD=1, since Node 20 cannot run
 * bench/etcd-only.ts from source. Env: BENCH_SCALE (op-count multiplier, default 1),
 * BENCH_MAX_MS (per-workload time bound), BENCH_JSON / BENCH_PLOT (output files).
 *
 *   BENCH_ETCD=1 BENCH_JSON=/tmp/etcd.json npx vitest run test/bench/etcd-figures.test.ts
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type EtcdOnlyOptions, runEtcdOnly } from '../../bench/etcd-only.js';

const enabled = process.env.BENCH_ETCD === '1';
const haveEtcd = existsSync('/usr/bin/etcd');

describe.skipIf(!enabled || !haveEtcd)('etcd figures (BENCH_ETCD=1, needs /usr/bin/etcd)', () => {
  it('runs every workload against etcd and measures the floor', async () => {
    const opts: EtcdOnlyOptions = { scale: Number(process.env.BENCH_SCALE ?? '1') };
    if (process.env.BENCH_MAX_MS) opts.maxMs = Number(process.env.BENCH_MAX_MS);
    if (process.env.BENCH_JSON) opts.json = process.env.BENCH_JSON;
    if (process.env.BENCH_PLOT) opts.plot = process.env.BENCH_PLOT;
    const report = await runEtcdOnly(opts);
    for (const r of report.results) expect(r.status, `${r.workload}: ${r.reason}`).toBe('ok');
    expect(report.floor!.floorMs).toBeGreaterThan(0);
  }, 900_000);
});
