/**
 * `consensus bench` against our cluster as real processes: a tiny run of every default workload
 * plus `failover`, with figures checked for plausibility (not for speed), the JSON report written,
 * and the cluster's processes gone afterwards. Also the CLI's argument errors.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBenchArgs, runSuite } from '../../bench/main.js';
import { startOursAsProcesses } from '../../runtime/cli/bench-command.js';
import { portIsFree } from '../../runtime/cli/demo.js';
import { BIN, ensureBuilt, ROOT } from '../server/proc.js';

const root = mkdtempSync(join(tmpdir(), 'vibee-benchcmd-'));

describe('consensus bench (ours as real processes)', () => {
  beforeAll(() => ensureBuilt(), 180_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('runs every default workload and failover against 3 processes, writes the JSON, stops the cluster', async () => {
    let ports: number[] = [];
    const json = join(root, 'report.json');
    const report = await runSuite(
      {
        warmUpMs: 0,
        targets: ['ours'],
        workloads: [
          'put-latency',
          'put-throughput',
          'read-latency',
          'lock-uncontended',
          'lock-contended',
          'barrier',
          'failover',
        ],
        scale: 0.02,
        maxMs: 10_000,
        noFloor: true,
        dataRoot: root,
        json,
        out: null,
      },
      {
        startOurs: async ({ dataRoot }) => {
          const t = await startOursAsProcesses({ dataRoot, bin: BIN });
          ports = t.cluster.members.map((m) => m.port);
          return t;
        },
        log: () => undefined,
      },
    );
    expect(report).not.toBeNull();
    for (const r of report!.results) {
      expect(r.status, `${r.workload}: ${r.reason}`).toBe('ok');
      expect(r.ops).toBeGreaterThan(0);
      for (const m of r.metrics) expect(m.value, `${r.workload} ${m.name}`).toBeGreaterThan(0);
    }
    const fo = report!.results.find((r) => r.workload === 'failover')!;
    // A new leader needs at least one election timeout (150 ms minimum by the spec's defaults).
    expect(fo.metrics.find((m) => m.name === 'p50')!.value).toBeGreaterThan(100);
    const parsed = JSON.parse(readFileSync(json, 'utf8')) as { results: { workload: string }[] };
    expect(parsed.results.map((r) => r.workload)).toContain('failover');
    expect(ports).toHaveLength(3);
    for (const p of ports) expect(await portIsFree(p), `port ${p} still bound`).toBe(true);
  }, 120_000);

  it('exits 2 on a bad flag, naming it', async () => {
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'bench', '--scale', 'zero'], { cwd: ROOT });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (c) => resolve({ code: c ?? -1, stderr: err }));
    });
    expect(code).toBe(2);
    expect(stderr).toContain('--scale');
  }, 20_000);

  it('--etcd takes existing endpoints (HOST:PORT becomes http://HOST:PORT)', () => {
    expect(parseBenchArgs(['--etcd', '127.0.0.1:2379, https://e2:2379']).etcdEndpoints).toEqual([
      'http://127.0.0.1:2379',
      'https://e2:2379',
    ]);
    expect(parseBenchArgs([]).etcdEndpoints).toBeUndefined();
  });
});
