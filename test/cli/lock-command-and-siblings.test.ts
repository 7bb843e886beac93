/**
 * `consensus lock NAME -- COMMAND...` passes COMMAND's outcome through as a shell does (its exit
 * code, or 128 + the signal that killed it), and a signal to the CLI reaches COMMAND before the
 * lock is released: COMMAND never runs on after the lock went to someone else. `consensus get` of
 * a key holding concurrent siblings shows them and exits 0 (only an absent key exits 1).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.js';
import { freePorts } from '../server/helpers.js';
import { BIN, ensureBuilt, FAST_CFG, ROOT, runCli, type ServeProc, spawnServe } from '../server/proc.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('consensus lock -- COMMAND, and get with siblings', () => {
  let root: string;
  let member: ServeProc;
  let ep = '';
  beforeAll(async () => {
    ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'vibee-cli-lock-'));
    const cfg = join(root, 'cfg.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        ...FAST_CFG,
        conflictRules: [{ prefix: 'carts/', strategy: 'application_callback' }],
      }),
    );
    const [port] = await freePorts(1);
    ep = `127.0.0.1:${port}`;
    member = await spawnServe('solo', ['--listen', ep, '--data', join(root, 'solo'), '--config', cfg]);
  }, 60_000);
  afterAll(() => {
    member?.proc.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('a COMMAND that got the lock after waiting several TTLs runs to its end (it was killed at once)', async () => {
    const heldFile = join(root, 'held');
    /** `consensus lock slow --ttl 500 -- sh -c SCRIPT`. */
    const lockRunning = (script: string) =>
      runCli(['lock', 'slow', '--ttl', '500', '--endpoints', ep, '--', 'sh', '-c', script]);
    const first = lockRunning(`touch ${heldFile}; sleep 1.5`);
    await until('the first holder runs', () => existsSync(heldFile));
    const second = await lockRunning('sleep 0.3; echo finished');
    expect((await first).code).toBe(0);
    expect({ code: second.code, stdout: second.stdout.trim() }).toEqual({ code: 0, stdout: 'finished' });
  });

  it('a COMMAND killed by a signal exits 128 + that signal (SIGKILL 137, SIGINT 130)', async () => {
    expect((await runCli(['lock', 'sig', '--endpoints', ep, '--', 'sh', '-c', 'kill -KILL $$'])).code).toBe(
      137,
    );
    expect((await runCli(['lock', 'sig', '--endpoints', ep, '--', 'sh', '-c', 'kill -INT $$'])).code).toBe(
      130,
    );
  });

  it('SIGTERM to the lock CLI stops COMMAND and releases the lock (no orphan running unlocked)', async () => {
    const pidFile = join(root, 'child.pid');
    const cli = spawn(
      process.execPath,
      [
        BIN,
        'lock',
        'L',
        '--ttl',
        '1500',
        '--endpoints',
        ep,
        '--',
        'sh',
        '-c',
        `echo $$ > ${pidFile}; exec sleep 30`,
      ],
      { cwd: ROOT, stdio: 'ignore' },
    );
    let child = 0;
    try {
      await until(
        'COMMAND to start',
        () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '',
      );
      child = Number(readFileSync(pidFile, 'utf8').trim());
      expect(alive(child)).toBe(true);
      cli.kill('SIGTERM');
      const code = await new Promise((r) => cli.on('exit', (c, s) => r(c ?? s)));
      expect(code).toBe(128 + 15); // COMMAND's own death by the forwarded SIGTERM
      // The lock is free at once (released, not left to expire), and the first COMMAND is gone.
      const second = await runCli(['lock', 'L', '--wait', '500', '--endpoints', ep, '--', 'true']);
      expect(second.code).toBe(0);
      expect(alive(child), 'first COMMAND still runs while a second holder got the lock').toBe(false);
    } finally {
      if (child && alive(child)) process.kill(child, 'SIGKILL');
      cli.kill('SIGKILL');
    }
  }, 30_000);

  it('get of a key with siblings shows them and exits 0', async () => {
    // Two CLI puts are two clients with empty contexts: concurrent writes, kept as siblings.
    expect((await runCli(['put', 'carts/x', 'apple', '--endpoints', ep])).code).toBe(0);
    expect((await runCli(['put', 'carts/x', 'pear', '--endpoints', ep])).code).toBe(0);
    const json = await runCli(['get', 'carts/x', '--endpoints', ep, '--json']);
    expect(JSON.parse(json.stdout).siblings).toEqual(['apple', 'pear']);
    expect(json.code).toBe(0);
    const human = await runCli(['get', 'carts/x', '--endpoints', ep]);
    expect(human.stdout.trim().split('\n')).toEqual(['apple', 'pear']);
    expect(human.code).toBe(0);
    expect((await runCli(['get', 'carts/absent', '--endpoints', ep])).code).toBe(1);
  }, 30_000);
});
