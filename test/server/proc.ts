/** Real `consensus` processes for tests: build check, spawn, wait for the listening line. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from '../../runtime/transport/free-ports.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'dist', 'runtime', 'cli', 'consensus.js');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** Builds dist/ when it is missing or older than runtime/ and generated/ sources. */
export function ensureBuilt(): void {
  const src = Math.max(newest(join(ROOT, 'runtime')), newest(join(ROOT, 'generated')));
  if (existsSync(BIN) && statSync(BIN).mtimeMs >= src) return;
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
}

/** Runs a CLI command to completion. */
export function runCli(
  args: string[],
  timeoutMs = 20000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`consensus ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/**
 * `consensus serve` of a throwaway member `x` on any free port with data under `dataDir` and
 * `extra` flags: for the flag errors that make it exit before it serves.
 */
export function runServeExpectingExit(dataDir: string, ...extra: string[]) {
  return runCli(['serve', '--id', 'x', '--listen', '127.0.0.1:0', '--data', dataDir, ...extra]);
}

/** A `consensus serve` process. */
export interface ServeProc {
  id: string;
  proc: ChildProcess;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number>;
}

/** Spawns `consensus serve`; resolves once it prints its listening line (or rejects if it exits). */
export function spawnServe(id: string, args: string[]): Promise<ServeProc> {
  const level = args.includes('--log-level') ? [] : ['--log-level', 'warn'];
  const proc = spawn(process.execPath, [BIN, 'serve', '--id', id, ...level, ...args], {
    cwd: ROOT,
  });
  let err = '';
  let out = '';
  proc.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<number>((r) => proc.on('exit', (c, sig) => r(c ?? (sig ? 128 : -1))));
  return new Promise((resolve, reject) => {
    proc.stdout?.on('data', (d) => {
      out += d;
      if (out.includes('"listening"')) resolve({ id, proc, stderr: () => err, exited });
    });
    void exited.then((code) =>
      reject(Object.assign(new Error(`serve ${id} exited ${code}: ${err}`), { code, stderr: err })),
    );
  });
}

/** Fast timeouts for test clusters (a ConsensusConfig for `--config`). */
export const FAST_CFG = { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, heartbeatIntervalMs: 30 };

/**
 * Spawns `size` members `n0..` on free loopback ports, data under `root`, with FAST_CFG and
 * `extraArgs(i)` appended; resolves once all listen, with their endpoints (`HOST:PORT,...`).
 */
export async function spawnServeCluster(
  root: string,
  size: number,
  extraArgs: (i: number) => string[] = () => [],
): Promise<{ procs: ServeProc[]; eps: string }> {
  const cfg = join(root, 'cfg.json');
  writeFileSync(cfg, JSON.stringify(FAST_CFG));
  const ports = await freePorts(size);
  const peers = ports.map((p, i) => `n${i}=127.0.0.1:${p}`).join(',');
  const procs = await Promise.all(
    ports.map((p, i) =>
      spawnServe(`n${i}`, [
        '--listen',
        `127.0.0.1:${p}`,
        '--peers',
        peers,
        '--data',
        join(root, `n${i}`),
        '--config',
        cfg,
        ...extraArgs(i),
      ]),
    ),
  );
  return { procs, eps: ports.map((p) => `127.0.0.1:${p}`).join(',') };
}
