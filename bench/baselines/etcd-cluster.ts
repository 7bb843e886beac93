/**
 * A real multi-member etcd cluster on 127.0.0.1 for side-by-side baselines. Bench-only code: it
 * spawns processes and uses real time, which protocol code never does.
 *
 * Invariants: every listener is on 127.0.0.1 (never any other address); fsync stays at etcd's
 * default (on), so etcd pays the same durability cost our log does; `stop()` always removes the
 * temporary directory it created, even when a member refuses to die on SIGTERM (SIGKILL follows).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePorts } from '../../runtime/transport/free-ports.js';

export { freePorts };

/** Options of `startEtcdCluster`. */
export interface EtcdClusterOptions {
  /** Number of members (3 for the baselines). */
  members: number;
  /** Directory under which a fresh temporary directory is created for all members' data. */
  dataRoot: string;
  /**
   * First port to use: member i gets client port basePort + 2i and peer port basePort + 2i + 1.
   * When absent, free ports are found by binding port 0 on 127.0.0.1.
   */
  basePort?: number;
  /** etcd binary (default: `etcd` on PATH, preferring /usr/bin/etcd). */
  etcdBin?: string;
  /** How long to wait for every member's /health to report true (default 30 s). */
  healthTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL (default 5 s). */
  stopTimeoutMs?: number;
}

/** A running cluster. */
export interface EtcdCluster {
  /** Client endpoints, `http://127.0.0.1:PORT`, one per member, in member order. */
  endpoints: string[];
  /** Member names, `m0`, `m1`, ... */
  names: string[];
  /** The temporary directory holding every member's data dir (removed by `stop()`). */
  dir: string;
  /**
   * Stops every member, one after the other (SIGTERM, then SIGKILL after the timeout), and removes
   * `dir`. Idempotent.
   */
  stop(): Promise<void>;
}

/** The etcd binary to use: /usr/bin/etcd when present, else `etcd` from PATH. */
export function defaultEtcdBin(): string {
  return existsSync('/usr/bin/etcd') ? '/usr/bin/etcd' : 'etcd';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True when GET `${endpoint}/health` answers `{"health":"true"}`. */
export async function isHealthy(endpoint: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return false;
    const body = (await res.json()) as { health?: unknown };
    return body.health === 'true' || body.health === true;
  } catch {
    return false;
  }
}

/** Keeps the last `limit` characters a member wrote, for error messages. */
class Tail {
  private text = '';
  constructor(private readonly limit = 4000) {}
  push(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-this.limit);
  }
  toString(): string {
    return this.text;
  }
}

/**
 * Starts a real etcd cluster of `members` members on 127.0.0.1 and resolves once every member's
 * /health reports true. On failure every started member is stopped and the temp dir removed
 * before the promise rejects.
 */
export async function startEtcdCluster(opts: EtcdClusterOptions): Promise<EtcdCluster> {
  const n = opts.members;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`members must be a positive integer: ${n}`);
  const bin = opts.etcdBin ?? defaultEtcdBin();
  const healthTimeoutMs = opts.healthTimeoutMs ?? 30_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 5_000;
  await mkdir(opts.dataRoot, { recursive: true });
  const dir = await mkdtemp(join(opts.dataRoot, 'etcd-'));
  const ports =
    opts.basePort === undefined
      ? await freePorts(2 * n)
      : Array.from({ length: 2 * n }, (_, i) => opts.basePort! + i);
  const names = Array.from({ length: n }, (_, i) => `m${i}`);
  const clientUrl = (i: number) => `http://127.0.0.1:${ports[2 * i]}`;
  const peerUrl = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
  const initialCluster = names.map((name, i) => `${name}=${peerUrl(i)}`).join(',');
  const token = `bench-${process.pid}-${ports[0]}`;

  const procs: ChildProcess[] = [];
  const tails: Tail[] = [];
  const exits: (string | null)[] = names.map(() => null);
  let stopped = false;

  // Safety net: if this process exits without stop() (an uncaught error, process.exit on ^C), do
  // not leave etcd members running or their data behind. 'exit' handlers must be synchronous.
  const onExit = () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    // One member at a time: a leader that gets SIGTERM hands leadership to a live peer; when all
    // members get it at once the leader picks a peer that is itself exiting and waits ~7 s for
    // the transfer to time out. Sequentially, a 3-member stop takes about half a second.
    for (const p of procs) await stopProcess(p, stopTimeoutMs);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < n; i++) {
      const args = [
        `--name=${names[i]}`,
        `--data-dir=${join(dir, names[i]!)}`,
        `--listen-client-urls=${clientUrl(i)}`,
        `--advertise-client-urls=${clientUrl(i)}`,
        `--listen-peer-urls=${peerUrl(i)}`,
        `--initial-advertise-peer-urls=${peerUrl(i)}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-token=${token}`,
        '--initial-cluster-state=new',
        '--logger=zap',
        '--log-level=warn',
      ];
      const tail = new Tail();
      const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      p.stdout?.on('data', (c: Buffer) => tail.push(c));
      p.stderr?.on('data', (c: Buffer) => tail.push(c));
      p.on('error', (err) => {
        exits[i] = `spawn failed: ${err.message}`;
      });
      p.on('exit', (code, signal) => {
        exits[i] = `exited (code ${code}, signal ${signal})`;
      });
      procs.push(p);
      tails.push(tail);
    }

    const endpoints = names.map((_, i) => clientUrl(i));
    const deadline = performance.now() + healthTimeoutMs;
    for (;;) {
      const dead = exits.findIndex((e) => e !== null);
      if (dead >= 0) {
        throw new Error(`etcd member ${names[dead]} ${exits[dead]} during startup:\n${tails[dead]}`);
      }
      const health = await Promise.all(endpoints.map((e) => isHealthy(e)));
      if (health.every(Boolean)) break;
      if (performance.now() > deadline) {
        const sick = endpoints.filter((_, i) => !health[i]).join(', ');
        throw new Error(
          `etcd cluster not healthy after ${healthTimeoutMs} ms (${sick}):\n${tails.join('\n')}`,
        );
      }
      await sleep(100);
    }
    return { endpoints, names, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** SIGTERM, then SIGKILL when the process has not exited after `timeoutMs`. */
async function stopProcess(p: ChildProcess, timeoutMs: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    p.kill('SIGKILL');
    await exited;
  }
}
