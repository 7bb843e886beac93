import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../server/helpers.js';
import {
  ensureBuilt,
  runCli,
  runServeExpectingExit,
  type ServeProc,
  spawnServe,
  spawnServeCluster,
} from '../server/proc.js';

describe('consensus CLI against a 3-process cluster', () => {
  let root: string;
  let procs: ServeProc[] = [];
  let eps = '';
  beforeAll(async () => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'vibee-cli-'));
    ({ procs, eps } = await spawnServeCluster(root, 3));
  }, 120_000);
  afterAll(async () => {
    for (const p of procs) p.proc.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('put, get, del, status', async () => {
    expect((await runCli(['put', 'greeting', 'hello', '--endpoints', eps])).code).toBe(0);
    const g = await runCli(['get', 'greeting', '--endpoints', eps, '--json']);
    expect(g.code).toBe(0);
    expect(JSON.parse(g.stdout).value).toBe('hello');
    expect((await runCli(['del', 'greeting', '--endpoints', eps])).code).toBe(0);
    // Absent: exit 1, nothing on stdout (`v=$(consensus get k)` stays empty), the reason on stderr.
    const absent = await runCli(['get', 'greeting', '--endpoints', eps]);
    expect({ code: absent.code, stdout: absent.stdout }).toEqual({ code: 1, stdout: '' });
    expect(absent.stderr).toContain('greeting: not found');
    const s = await runCli(['status', '--endpoints', eps, '--json']);
    expect(s.code).toBe(0);
    const st = JSON.parse(s.stdout);
    expect(st.members).toHaveLength(3);
    expect(st.leaderId).toMatch(/^n[0-2]$/);
  });

  it('lock runs the command with FENCE_TOKEN and passes its exit code through', async () => {
    const a = await runCli([
      'lock',
      'L',
      '--endpoints',
      eps,
      '--',
      'sh',
      '-c',
      'echo "$FENCE_TOKEN"; exit 0',
    ]);
    expect(a.code).toBe(0);
    const b = await runCli([
      'lock',
      'L',
      '--endpoints',
      eps,
      '--',
      'sh',
      '-c',
      'echo "$FENCE_TOKEN"; exit 7',
    ]);
    expect(b.code).toBe(7);
    expect(BigInt(b.stdout.trim())).toBeGreaterThan(BigInt(a.stdout.trim()));
  });

  it('barrier: released when all arrive, timed_out (exit 1) when not', async () => {
    const two = await Promise.all(
      [0, 1].map(() => runCli(['barrier', 'B2', '--participants', '2', '--endpoints', eps, '--json'])),
    );
    for (const r of two) {
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).outcome).toBe('satisfied');
    }
    // The human form names who arrived (their session ids), as docs/cli.md says.
    const arrived = JSON.parse((two[0] as { stdout: string }).stdout).arrived as string[];
    const human = await Promise.all(
      [0, 1].map(() => runCli(['barrier', 'B2h', '--participants', '2', '--endpoints', eps])),
    );
    expect(arrived).toHaveLength(2);
    for (const r of human) expect(r.stdout.trim()).toMatch(/^satisfied: 2 arrived \(\S+, \S+\)$/);
    const lone = await runCli([
      'barrier',
      'B3',
      '--participants',
      '3',
      '--timeout',
      '400',
      '--endpoints',
      eps,
      '--json',
    ]);
    expect(lone.code).toBe(1);
    expect(JSON.parse(lone.stdout).outcome).toBe('timed_out');
  });

  it('members list and transfer-leader', async () => {
    const m = await runCli(['members', 'list', '--endpoints', eps, '--json']);
    expect(m.code).toBe(0);
    const before = JSON.parse(m.stdout);
    const target = before.members
      .map((x: { id: string }) => x.id)
      .find((id: string) => id !== before.leaderId);
    const t = await runCli(['transfer-leader', target, '--endpoints', eps, '--json']);
    expect(t.code).toBe(0);
    expect(JSON.parse(t.stdout).leaderId).toBe(target);
  });

  it('--version prints the package and wire protocol versions and exits 0', async () => {
    const { version } = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'),
    ) as {
      version: string;
    };
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(`consensus ${version} (vibee-consensus, wire protocol v1)`);
  });

  it('a flag given twice, or one that belongs to another verb, exits 2 naming it (it was silently dropped)', async () => {
    const twice = await runCli([
      'serve',
      '--id',
      'x',
      '--id',
      'y',
      '--listen',
      '127.0.0.1:0',
      '--data',
      root,
    ]);
    expect({ code: twice.code, named: /--id: is given more than once/.test(twice.stderr) }).toEqual({
      code: 2,
      named: true,
    });
    const ttl = await runCli(['put', 'k', 'v', '--ttl', '100', '--endpoints', eps]);
    expect({ code: ttl.code, named: /--ttl: does not apply to put/.test(ttl.stderr) }).toEqual({
      code: 2,
      named: true,
    });
    const endpoints = await runCli(['get', 'k', '--endpoints', eps, '--endpoints', eps]);
    expect(endpoints.code).toBe(2);
  });

  it('--help and -h print the usage and exit 0, for every command', async () => {
    for (const args of [['-h'], ['--help'], ['serve', '--help'], ['put', '-h'], ['bench', '--help']]) {
      const r = await runCli(args);
      expect({ args, code: r.code, usage: r.stdout.startsWith('usage: consensus') }).toEqual({
        args,
        code: 0,
        usage: true,
      });
    }
    // After a lock's `--` it belongs to COMMAND.
    const lock = await runCli([
      'lock',
      'h',
      '--endpoints',
      eps,
      '--',
      'sh',
      '-c',
      'echo "$1"',
      'sh',
      '--help',
    ]);
    expect({ code: lock.code, stdout: lock.stdout.trim() }).toEqual({ code: 0, stdout: '--help' });
  });

  it('errors: bad flags exit 2, unreachable endpoints exit 3, a bad demo flag exits 2', async () => {
    expect((await runCli(['put', 'k', '--endpoints', eps])).code).toBe(2);
    expect((await runCli(['get', 'k', '--endpoints', 'nonsense'])).code).toBe(2);
    expect((await runCli(['get', 'k', '--bogus', '--endpoints', eps])).code).toBe(2);
    expect(
      (await runCli(['barrier', 'x', '--participants', '2', '--threshold', '1.5', '--endpoints', eps])).code,
    ).toBe(2);
    expect((await runCli(['serve', '--id', 'x', '--listen', '127.0.0.1:99999', '--data', root])).code).toBe(
      2,
    );
    const lonelyJoin = await runCli([
      'serve',
      '--id',
      'x',
      '--listen',
      '127.0.0.1:7999',
      '--data',
      root,
      '--join',
    ]);
    expect(lonelyJoin.code).toBe(2);
    expect(lonelyJoin.stderr).toMatch(/--peers: with --join, must name the existing members/);
    const badRules = join(root, 'bad-rules.json');
    writeFileSync(badRules, JSON.stringify({ conflictRules: [{ prefix: 'a/', strategy: 'newest' }] }));
    const br = await runServeExpectingExit(root, '--config', badRules);
    expect(br.code).toBe(2);
    expect(br.stderr).toMatch(/--config: conflictRules\[0\]\.strategy must be one of/);
    const un = await runCli(['status', '--endpoints', '127.0.0.1:1', '--timeout', '300']);
    expect(un.code).toBe(3);
    expect(un.stderr).toMatch(/no endpoint reachable/);
    const d = await runCli(['demo', '--bogus']);
    expect(d.code).toBe(2);
  });
});

describe('consensus serve and a damaged WAL', () => {
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'vibee-wal-'));
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function writeSome(dir: string): Promise<{ segment: string; end: number }> {
    const [port] = await freePorts(1);
    const s = await spawnServe('solo', ['--listen', `127.0.0.1:${port}`, '--data', dir]);
    for (let i = 0; i < 6; i++)
      expect((await runCli(['put', `k${i}`, `value-${i}`, '--endpoints', `127.0.0.1:${port}`])).code).toBe(0);
    s.proc.kill('SIGKILL');
    await s.exited;
    const wal = join(dir, 'wal');
    const segment = readdirSync(wal)
      .filter((f) => f.endsWith('.wal'))
      .sort()[0] as string;
    const bytes = readFileSync(join(wal, segment));
    let end = bytes.length - 1;
    while (end > 0 && bytes[end] === 0) end--;
    return { segment: join(wal, segment), end };
  }

  it('a flipped byte mid-log: exit 1 naming the file, the offset and the remedy', async () => {
    const dir = join(root, 'mid');
    const { segment, end } = await writeSome(dir);
    const b = readFileSync(segment);
    const at = Math.floor(end / 2);
    b[at] = (b[at] as number) ^ 0xff;
    writeFileSync(segment, b);
    const [port] = await freePorts(1);
    const r = await spawnServe('solo', ['--listen', `127.0.0.1:${port}`, '--data', dir]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(r?.code).toBe(1);
    expect(r?.stderr).toMatch(/\.wal at offset \d+/);
    expect(r?.stderr).toMatch(/restore this member/);
  }, 60_000);

  it('a torn tail is repaired and the node starts with the earlier data', async () => {
    const dir = join(root, 'torn');
    const { segment, end } = await writeSome(dir);
    const b = readFileSync(segment);
    b.fill(0, end - 3, end + 1); // the last record loses its final bytes
    writeFileSync(segment, b);
    const [port] = await freePorts(1);
    const s = await spawnServe('solo', ['--listen', `127.0.0.1:${port}`, '--data', dir]);
    try {
      const g = await runCli(['get', 'k3', '--endpoints', `127.0.0.1:${port}`, '--json']);
      expect(g.code).toBe(0);
      expect(JSON.parse(g.stdout).value).toBe('value-3');
    } finally {
      s.proc.kill('SIGKILL');
    }
  }, 60_000);
});
