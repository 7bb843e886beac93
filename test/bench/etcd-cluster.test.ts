import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdCluster, isHealthy, startEtcdCluster } from '../../bench/baselines/etcd-cluster.js';
import { runSuite } from '../../bench/main.js';
import { runBench } from '../../bench/run-bench.js';
import { type ClientLike, clientTarget } from '../../bench/targets/client-target.js';
import { connectEtcdTarget } from '../../bench/targets/etcd-target.js';
import type { BenchTarget } from '../../bench/targets/types.js';
import { defaultWorkloads } from '../../bench/workloads/index.js';

// Needs the real etcd binary (bench/setup-baselines.sh installs it); CI machines may lack it.
const HAVE_ETCD = existsSync('/usr/bin/etcd');
if (!HAVE_ETCD)
  console.warn('test/bench/etcd-cluster: skipped: /usr/bin/etcd not found (run bench/setup-baselines.sh)');

describe.skipIf(!HAVE_ETCD)('etcd baseline (real 3-member cluster on 127.0.0.1)', () => {
  const dataRoot = join(tmpdir(), `vibee-bench-test-${process.pid}`);
  let cluster: EtcdCluster;
  let target: BenchTarget;

  beforeAll(async () => {
    cluster = await startEtcdCluster({ members: 3, dataRoot, healthTimeoutMs: 15_000 });
    target = await connectEtcdTarget({ endpoints: cluster.endpoints });
  }, 20_000);

  afterAll(async () => {
    await target?.close();
    await cluster?.stop();
    await rm(dataRoot, { recursive: true, force: true });
  });

  it('serves three healthy members on 127.0.0.1 only', async () => {
    expect(cluster.endpoints).toHaveLength(3);
    expect(new Set(cluster.endpoints).size).toBe(3);
    for (const e of cluster.endpoints) {
      expect(e).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await isHealthy(e)).toBe(true);
    }
  });

  it('reads back writes at every consistency level', async () => {
    const v = new TextEncoder().encode('hello');
    await target.put('t/k', v);
    for (const consistency of ['linearizable', 'lease', 'stale'] as const) {
      // A stale read may lag; a fresh put followed by a linearizable read first makes it visible
      // on the leader, and the serializable read may hit any member, so only compare when present.
      const got = await target.get('t/k', { consistency });
      if (consistency !== 'stale' || got !== null) expect(new TextDecoder().decode(got!)).toBe('hello');
    }
    expect(await target.get('t/absent', { consistency: 'linearizable' })).toBeNull();
  });

  it('lock excludes: a second locker waits until the first releases', async () => {
    const first = await target.lock('t/excl');
    let secondHeld = false;
    const second = target.lock('t/excl').then((l) => {
      secondHeld = true;
      return l;
    });
    // Confirm via a linearizable round trip through the cluster that the second is still waiting.
    await target.get('t/k', { consistency: 'linearizable' });
    await target.get('t/k', { consistency: 'linearizable' });
    expect(secondHeld).toBe(false);
    await first.release();
    const l2 = await second;
    expect(secondHeld).toBe(true);
    await l2.release();
  });

  it('the etcd3 lock recipe fallback also excludes (and says so in its notes)', async () => {
    const recipe = await connectEtcdTarget({
      endpoints: cluster.endpoints,
      lockApi: 'recipe',
      prefix: 'bench-recipe/',
    });
    try {
      expect(recipe.notes.join('\n')).toMatch(/etcd3 client lock\(\) recipe/);
      const first = await recipe.lock('t/r');
      let secondHeld = false;
      const second = recipe.lock('t/r').then((l) => {
        secondHeld = true;
        return l;
      });
      await recipe.get('t/k', { consistency: 'linearizable' });
      await recipe.get('t/k', { consistency: 'linearizable' });
      expect(secondHeld).toBe(false);
      await first.release();
      await (await second).release();
      expect(secondHeld).toBe(true);
    } finally {
      await recipe.close();
    }
  });

  it('barrier releases only when all participants arrived', async () => {
    let released = 0;
    const a = target.barrier!('t/b1', 3).then(() => released++);
    const b = target.barrier!('t/b1', 3).then(() => released++);
    await target.get('t/k', { consistency: 'linearizable' });
    expect(released).toBe(0);
    await target.barrier!('t/b1', 3);
    await Promise.all([a, b]);
    expect(released).toBe(2);
  });

  it('runs a tiny suite end to end with figures for every workload', async () => {
    const chunks: string[] = [];
    const out = { write: (c: string) => chunks.push(c) } as unknown as NodeJS.WritableStream;
    const report = await runBench({
      targets: [target],
      workloads: defaultWorkloads(0.01, 5_000),
      columns: ['ours', 'etcd'],
      out,
    });
    expect(report.results).toHaveLength(6);
    for (const r of report.results) {
      expect(r.status, `${r.workload}: ${r.reason}`).toBe('ok');
      expect(r.ops).toBeGreaterThan(0);
      for (const m of r.metrics) expect(m.value).toBeGreaterThan(0);
    }
    const text = chunks.join('');
    expect(text).toContain('| workload');
    expect(text).toContain('v3lock');
  }, 20_000);

  it('runSuite puts ours and etcd side by side with a ratio (ours = in-process fake client)', async () => {
    const chunks: string[] = [];
    const kv = new Map<string, Uint8Array>();
    const fake: ClientLike = {
      put: async (k, v) => void kv.set(k, v),
      get: async (k) => kv.get(k) ?? null,
      lock: async () => ({ release: async () => undefined }),
    };
    const report = await runSuite(
      {
        warmUpMs: 0,
        targets: ['ours', 'etcd'],
        workloads: ['put-latency', 'read-latency'],
        scale: 0.01,
        dataRoot,
        noFloor: true,
        out: { write: (c: string) => chunks.push(c) } as unknown as NodeJS.WritableStream,
      },
      { startOurs: async () => clientTarget(fake), log: () => undefined },
    );
    expect(report!.targets).toEqual(['ours', 'etcd']);
    expect(report!.results.map((r) => `${r.workload}/${r.target}/${r.status}`)).toEqual([
      'put-latency/ours/ok',
      'put-latency/etcd/ok',
      'read-latency/ours/ok',
      'read-latency/etcd/ok',
    ]);
    const p50 = chunks
      .join('')
      .split('\n')
      .find((l) => l.includes('p50 (ms)'))!;
    expect(p50.split('|').map((c) => c.trim())[5]).toMatch(/^\d+\.\d\dx$/);
  }, 20_000);

  it('stop() kills every member and removes the data dir', async () => {
    const c2 = await startEtcdCluster({ members: 1, dataRoot, healthTimeoutMs: 15_000 });
    expect(existsSync(c2.dir)).toBe(true);
    await c2.stop();
    expect(existsSync(c2.dir)).toBe(false);
    expect(await isHealthy(c2.endpoints[0]!, 300)).toBe(false);
    await c2.stop(); // idempotent
    expect(await readdir(dataRoot)).toEqual([basename(cluster.dir)]); // only the main cluster's dir left
  });
});
