import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  measureFdatasync,
  measureFloor,
  measureLoopbackRtt,
  measureSharedDiskQuorum,
} from '../../bench/floor.js';
import { benchMain, parseBenchArgs, runSuite } from '../../bench/main.js';
import { type ClientLike, clientTarget } from '../../bench/targets/client-target.js';

/** A minimal in-process client (map + FIFO-free lock that is fine sequentially, no barrier). */
function tinyClient(): ClientLike {
  const kv = new Map<string, Uint8Array>();
  let held: Promise<void> = Promise.resolve();
  return {
    put: async (k, v) => void kv.set(k, v),
    get: async (k) => kv.get(k) ?? null,
    lock: async () => {
      const prev = held;
      let free!: () => void;
      held = new Promise<void>((r) => {
        free = r;
      });
      await prev;
      return { release: async () => free() };
    },
  };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'bench-main-'));
  dirs.push(d);
  return d;
};

describe('parseBenchArgs', () => {
  it('parses lists, numbers and flags', () => {
    expect(
      parseBenchArgs([
        '--targets',
        'ours, etcd',
        '--workloads=put-latency,barrier',
        '--scale',
        '0.5',
        '--max-ms',
        '2000',
        '--json',
        'o.json',
        '--no-floor',
        '--lock-api',
        'recipe',
        '--warmup-ms',
        '0',
      ]),
    ).toEqual({
      warmUpMs: 0,
      targets: ['ours', 'etcd'],
      workloads: ['put-latency', 'barrier'],
      scale: 0.5,
      maxMs: 2000,
      json: 'o.json',
      noFloor: true,
      lockApi: 'recipe',
    });
    expect(parseBenchArgs([])).toEqual({});
  });

  it('rejects bad values and unknown flags', () => {
    expect(() => parseBenchArgs(['--scale', '-1'])).toThrow(/--scale/);
    expect(() => parseBenchArgs(['--max-ms', 'soon'])).toThrow(/--max-ms/);
    expect(() => parseBenchArgs(['--lock-api', 'x'])).toThrow(/--lock-api/);
    expect(() => parseBenchArgs(['--warmup-ms', '-5'])).toThrow(/--warmup-ms/);
    expect(() => parseBenchArgs(['--bogus'])).toThrow();
  });
});

describe('runSuite / benchMain', () => {
  it('runs the selected workloads on our target through the hook and writes JSON', async () => {
    const dataRoot = await tempDir();
    const json = join(dataRoot, 'out.json');
    let closed = false;
    let warmUpPuts = 0;
    const lines: string[] = [];
    const chunks: string[] = [];
    const report = await runSuite(
      {
        warmUpMs: 50,
        targets: ['ours'],
        workloads: ['put-latency', 'lock-uncontended'],
        scale: 0.01,
        dataRoot,
        json,
        noFloor: true,
        out: { write: (c: string) => chunks.push(c) } as unknown as NodeJS.WritableStream,
      },
      {
        startOurs: async (o) => {
          expect(o.dataRoot).toBe(dataRoot);
          const c = tinyClient();
          const put = c.put.bind(c);
          c.put = ((k: string, ...rest: unknown[]) => {
            if (k.includes('/warmup/')) warmUpPuts++;
            return (put as (...a: unknown[]) => unknown)(k, ...rest);
          }) as typeof c.put;
          return clientTarget(c, {
            onClose: async () => {
              closed = true;
            },
          });
        },
        log: (l) => lines.push(l),
      },
    );
    expect(closed).toBe(true);
    expect(warmUpPuts).toBeGreaterThan(0); // unmeasured: the workloads' op counts are unchanged
    expect(report!.results.map((r) => [r.workload, r.status, r.ops])).toEqual([
      ['put-latency', 'ok', 10],
      ['lock-uncontended', 'ok', 3],
    ]);
    const parsed = JSON.parse(await readFile(json, 'utf8'));
    expect(parsed.results).toHaveLength(2);
    expect(chunks.join('')).toContain('sequential put');
    expect(lines).toEqual([]);
  });

  it('--workloads can pick the non-default lease and stale read variants', async () => {
    const seen: string[] = [];
    const target = clientTarget({
      ...tinyClient(),
      get: async (k, { consistency }) => {
        seen.push(consistency);
        return k.endsWith('read-lat') ? new Uint8Array(128) : null;
      },
    });
    const report = await runSuite(
      {
        warmUpMs: 0,
        targets: ['ours'],
        workloads: ['read-latency-stale', 'read-latency-lease'],
        scale: 0.005,
        noFloor: true,
        out: null,
      },
      { startOurs: async () => target },
    );
    // Run in suite order (lease before stale), whatever order they were named in.
    expect(report!.results.map((r) => `${r.workload}:${r.status}`)).toEqual([
      'read-latency-lease:ok',
      'read-latency-stale:ok',
    ]);
    expect(seen).toEqual([
      'lease',
      'lease',
      'lease',
      'lease',
      'lease',
      'stale',
      'stale',
      'stale',
      'stale',
      'stale',
    ]);
  });

  it('skips a target it cannot start and reports nothing to run', async () => {
    const lines: string[] = [];
    expect(
      await runSuite({ targets: ['ours'], noFloor: true, out: null }, { log: (l) => lines.push(l) }),
    ).toBeNull();
    expect(lines.join('\n')).toMatch(/skipping ours/);
  });

  it('rejects unknown targets and workloads, closing what it started', async () => {
    let closed = 0;
    const hooks = {
      startOurs: async () => clientTarget(tinyClient(), { onClose: async () => void closed++ }),
      log: () => undefined,
    };
    await expect(runSuite({ targets: ['ours', 'zookeeper'], out: null }, hooks)).rejects.toThrow(
      /unknown bench target/,
    );
    await expect(runSuite({ targets: ['ours'], workloads: ['nope'], out: null }, hooks)).rejects.toThrow(
      /unknown workload/,
    );
    expect(closed).toBe(2);
  });

  it('benchMain exit codes: 2 on bad args, 1 when nothing ran', async () => {
    expect(await benchMain(['--scale', 'x'])).toBe(2);
    expect(await benchMain(['--targets', 'ours', '--no-floor'], { log: () => undefined })).toBe(1);
  });
});

describe('floor', () => {
  it('measures fdatasync and loopback RTT and combines them', async () => {
    const dir = await tempDir();
    const fs = await measureFdatasync(dir, 5);
    expect(fs).toHaveLength(5);
    expect(await readdir(dir)).toEqual([]); // probe file and its dir removed
    const rtt = await measureLoopbackRtt(20);
    expect(rtt).toHaveLength(20);
    for (const v of [...fs, ...rtt]) expect(v).toBeGreaterThan(0);
    const f = await measureFloor(dir, { fsyncIterations: 5, rttIterations: 20 });
    expect(f.floorMs).toBeCloseTo(f.fdatasync.p50 + 2 * f.rtt.p50, 9);
    expect(f.quorumFdatasync?.count).toBe(5);
    expect(f.soloFdatasync?.count).toBe(5);
    expect(f.sharedDiskFloorMs).toBeCloseTo((f.quorumFdatasync?.p50 ?? Number.NaN) + 2 * f.rtt.p50, 9);
    expect(existsSync(dir)).toBe(true);
  });

  it('shared-disk quorum: one sample per round from three threads syncing at once, files removed', async () => {
    const dir = await tempDir();
    const q = await measureSharedDiskQuorum(dir, { iterations: 8, gapMs: 0 });
    expect(q).toHaveLength(8);
    for (const v of q) expect(v).toBeGreaterThan(0);
    expect(await readdir(dir)).toEqual([]);
    await expect(measureSharedDiskQuorum(dir, { members: 0 })).rejects.toThrow(/members must be >= 1/);
  });

  it('shared-disk quorum: a probe whose setup fails rejects and leaves nothing behind', async () => {
    // A directory where the probe's data files cannot be created: the setup fails, nothing is left.
    const dir = await tempDir();
    const blocked = join(dir, 'not-a-dir');
    await writeFile(blocked, 'x');
    await expect(measureSharedDiskQuorum(blocked, { iterations: 2 })).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['not-a-dir']);
  });
});
