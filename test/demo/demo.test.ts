/**
 * Runs the built `consensus demo --json` (real processes over loopback TCP) and checks its exit
 * code and the events it reports: each step's figures, not only its `ok` flag.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'runtime', 'cli', 'consensus.js');

interface Ev {
  event: string;
  ok: boolean;
  t: number;
  [k: string]: unknown;
}

function runDemo(args: string[]): Promise<{ code: number; events: Ev[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, 'demo', ...args], { cwd: ROOT });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`demo did not finish in 60 s\n${out}\n${err}`));
    }, 60_000);
    p.on('exit', (code) => {
      clearTimeout(t);
      const events = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Ev);
      resolve({ code: code ?? -1, events, stderr: err });
    });
  });
}

describe('consensus demo', () => {
  beforeAll(() => {
    if (!existsSync(BIN) || !existsSync(join(ROOT, 'dist', 'runtime', 'cli', 'demo.js')))
      execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  }, 120_000);

  it('runs a real cluster, verifies every step and exits 0 in under a minute', async () => {
    const { code, events, stderr } = await runDemo(['--json']);
    const by = (name: string) => {
      const e = events.find((x) => x.event === name);
      expect(e, `event ${name} missing; stderr: ${stderr}`).toBeDefined();
      expect(e?.ok, `${name}: ${JSON.stringify(e)}`).toBe(true);
      return e as Ev;
    };
    expect(code, JSON.stringify(events.filter((e) => !e.ok))).toBe(0);

    const election = by('election');
    expect(['n1', 'n2', 'n3']).toContain(election.leader);
    expect(election.term).toBeGreaterThanOrEqual(1);

    const rep = by('replication');
    const applied = Object.values(rep.applied as Record<string, number>);
    expect(applied.filter((a) => a >= (rep.commitIndex as number)).length).toBeGreaterThanOrEqual(2);

    const fifo = by('lock_fifo');
    expect(fifo.order).toEqual(['agent-a', 'agent-b', 'agent-c']);
    const tokens = (fifo.tokens as string[]).map(BigInt);
    expect(tokens[0]! < tokens[1]! && tokens[1]! < tokens[2]!).toBe(true);

    const stale = by('stale_write_refused');
    expect(stale.code).toBe('STALE_FENCE_TOKEN');
    expect(BigInt(stale.token as string) < BigInt(stale.highest as string)).toBe(true);

    expect(by('barrier')).toMatchObject({ outcome: 'satisfied', arrived: 4 });
    expect(by('partial_barrier')).toMatchObject({ outcome: 'satisfied', arrived: 3, threshold: 0.75 });
    expect(by('concurrent_writes')).toMatchObject({ concurrent: true, actorsAdvanced: 2 });
    expect(by('conflict_strategies')).toMatchObject({
      merged: '{"agent-a":3,"agent-b":4}',
      siblings: ['apples', 'pears'],
      rejectedCode: 'KV_CONFLICT',
    });

    const fail = by('failover');
    expect(fail.newLeader).not.toBe(fail.killed);
    expect(fail.ms as number).toBeGreaterThan(0);
    expect(fail.ms as number).toBeLessThan(10_000);

    expect(by('snapshot').snapshotIndex as number).toBeGreaterThan(0);
    const shut = by('shutdown');
    expect(Object.values(shut.codes as Record<string, number>)).toEqual([0, 0, 0]);
    expect(shut.portsFree).toBe(true);

    const done = by('done');
    expect(done.ms as number).toBeLessThan(60_000);
  }, 70_000);

  it('rejects an unknown flag with exit 2', async () => {
    const { code } = await runDemo(['--bogus']);
    expect(code).toBe(2);
  }, 20_000);
});
