/**
 * `consensus serve` start-up checks. docs/cli.md: exit 2 = "bad flags or usage (one-line
 * message naming the flag, then the usage)".
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../server/helpers.js';
import { BIN, ensureBuilt, ROOT, runCli, spawnServe } from '../server/proc.js';

/** `consensus serve ...`: its exit code, or 'serving' if it printed its listening line. */
function serveOutcome(args: string[]): Promise<{ code: number | 'serving'; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'serve', '--log-level', 'silent', ...args], { cwd: ROOT });
    let out = '';
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('"listening"')) {
        p.kill('SIGKILL');
        resolve({ code: 'serving', stderr });
      }
    });
    p.on('exit', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

describe('consensus serve refuses bad start-up input with exit 2', () => {
  let root: string;
  beforeAll(() => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'vibee-serve-startup-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const body of ['null', '42', '[]', '""']) {
    it(`--config file holding ${body} (not an object) exits 2 naming --config`, async () => {
      const cfg = join(root, `cfg-${body.length}-${body.charCodeAt(0)}.json`);
      writeFileSync(cfg, body);
      const r = await serveOutcome([
        '--id',
        'x',
        '--listen',
        '127.0.0.1:0',
        '--data',
        join(root, 'x'),
        '--config',
        cfg,
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--config/);
    });
  }

  it('--config errors speak the config keys: a typo lists conflictRules among the known keys, a constraint names camelCase keys', async () => {
    const run = async (name: string, cfg: object) => {
      const file = join(root, `${name}.json`);
      writeFileSync(file, JSON.stringify(cfg));
      return serveOutcome([
        '--id',
        'x',
        '--listen',
        '127.0.0.1:0',
        '--data',
        join(root, name),
        '--config',
        file,
      ]);
    };
    const typo = await run('typo', { electionTimeoutMinMS: 100 });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(
      /config\.electionTimeoutMinMS: unknown key \(known: .*electionTimeoutMinMs.*, conflictRules\)/,
    );
    const bad = await run('constraint', { electionTimeoutMinMs: 500, electionTimeoutMaxMs: 400 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /constraint violated: electionTimeoutMinMs < electionTimeoutMaxMs \(electionTimeoutMinMs = 500/,
    );
  });

  it('a --data that cannot be created exits 2 naming --data (under a file; under /proc it spun forever)', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const dirs = [join(file, 'sub'), ...(existsSync('/proc/self') ? ['/proc/vibee-no-such/data'] : [])];
    for (const dir of dirs) {
      const r = await serveOutcome(['--id', 'x', '--listen', '127.0.0.1:0', '--data', dir]);
      expect({ dir, code: r.code, named: /--data: cannot create the data directory/.test(r.stderr) }).toEqual(
        {
          dir,
          code: 2,
          named: true,
        },
      );
    }
  });

  it('a damaged record in the middle of the log: serve refuses to start (exit 1) naming the data dir, file, offset and remedy', async () => {
    const dir = join(root, 'damaged');
    const [p] = await freePorts(1);
    const a = await spawnServe('a', ['--listen', `127.0.0.1:${p}`, '--data', dir]);
    for (let i = 0; i < 20; i++)
      expect((await runCli(['put', `k${i}`, 'x'.repeat(100), '--endpoints', `127.0.0.1:${p}`])).code).toBe(0);
    a.proc.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    const wal = join(dir, 'wal');
    const segment = join(
      wal,
      readdirSync(wal)
        .filter((f) => f.endsWith('.wal'))
        .sort()[0] as string,
    );
    const bytes = readFileSync(segment);
    bytes[400] = (bytes[400] as number) ^ 0xff; // inside an early record, valid records after it
    writeFileSync(segment, bytes);
    const r = await serveOutcome(['--id', 'a', '--listen', `127.0.0.1:${p}`, '--data', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /refusing to start \(data dir \/\S+damaged\): WAL corruption in wal\/\d+\.wal at offset \d+/,
    );
    expect(r.stderr).toMatch(/restore|replace|remove/i); // the remedy
  }, 30_000);

  it('a data dir written by member a is refused when started as member b', async () => {
    const dir = join(root, 'data-a');
    const [pa, pb] = await freePorts(2);
    const a = await spawnServe('a', ['--listen', `127.0.0.1:${pa}`, '--data', dir]);
    expect((await runCli(['put', 'k', 'v', '--endpoints', `127.0.0.1:${pa}`])).code).toBe(0);
    a.proc.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    // Same dir, other id: b would inherit a's term, vote and log as its own.
    const r = await serveOutcome(['--id', 'b', '--listen', `127.0.0.1:${pb}`, '--data', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--data/);
  }, 30_000);

  it('a data dir in use by a running member is refused by a second one', async () => {
    const dir = join(root, 'data-shared');
    const [pa, pb] = await freePorts(2);
    const a = await spawnServe('a', ['--listen', `127.0.0.1:${pa}`, '--data', dir]);
    try {
      const r = await serveOutcome(['--id', 'a', '--listen', `127.0.0.1:${pb}`, '--data', dir]);
      expect(r.code).not.toBe('serving');
      expect(r.stderr).toMatch(/--data/);
    } finally {
      a.proc.kill('SIGKILL');
    }
  }, 30_000);
  for (const flag of ['--listen', '--http'] as const) {
    it(`a taken ${flag} address exits 1 naming the flag and the address`, async () => {
      const blocker = net.createServer();
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
      const taken = (blocker.address() as net.AddressInfo).port;
      const [free] = await freePorts(1);
      try {
        const args =
          flag === '--listen'
            ? ['--listen', `127.0.0.1:${taken}`]
            : ['--listen', `127.0.0.1:${free}`, '--http', `127.0.0.1:${taken}`];
        const r = await serveOutcome(['--id', 'x', ...args, '--data', join(root, `taken${flag}`)]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`cannot listen on ${flag} 127.0.0.1:${taken}: EADDRINUSE`);
      } finally {
        await new Promise<void>((r) => blocker.close(() => r()));
      }
    });
  }
});
