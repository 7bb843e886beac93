/**
 * `consensus bench`: the bench suite (`bench/main.ts`) with our cluster plugged in as real
 * processes: 3 `consensus serve` children on loopback TCP (as in the demo), a TCP client per
 * session, and a `failover` hook that kills the leader with SIGKILL.
 *
 * Defaults beyond `bench/main.ts`: without `--workloads`, the default suite plus `failover` runs;
 * `--etcd HOST:PORT,...` uses an existing etcd cluster, else etcd is started when installed
 * (skipped with a message otherwise).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { benchMain } from '../../bench/main.js';
import { clientTarget } from '../../bench/targets/client-target.js';
import type { BenchTarget } from '../../bench/targets/types.js';
import { defaultWorkloads } from '../../bench/workloads/index.js';
import { connect } from '../client/client.js';
import { type ProcessCluster, startProcessCluster } from './demo.js';

/** Timeouts of the bench cluster: the spec's defaults except what the notes say. */
export const BENCH_CLUSTER_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({});

/** Options of `startOursAsProcesses`. */
export interface OursOptions {
  dataRoot: string;
  /** Partial ConsensusConfig for the members (default `BENCH_CLUSTER_CONFIG`). */
  config?: Record<string, unknown>;
  /** Built consensus.js (default: the sibling of demo.js). */
  bin?: string;
}

/** Starts our 3-process cluster and returns it as a `BenchTarget` (closing it stops the cluster). */
export async function startOursAsProcesses(
  o: OursOptions,
): Promise<BenchTarget & { cluster: ProcessCluster }> {
  mkdirSync(o.dataRoot, { recursive: true });
  const root = mkdtempSync(join(o.dataRoot, 'ours-'));
  let cluster: ProcessCluster;
  try {
    cluster = await startProcessCluster({
      root,
      config: o.config ?? { ...BENCH_CLUSTER_CONFIG },
      bin: o.bin,
    });
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  const stopAll = async () => {
    cluster.killAll();
    await Promise.allSettled(cluster.members.map((m) => m.exited));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await cluster.waitLeader(15000);
    const open = () => connect({ endpoints: cluster.endpoints, timeoutMs: 15000 });
    const client = await open();
    const target = clientTarget(client, {
      newSession: open,
      onClose: stopAll,
      notes: [
        'ours: 3 `consensus serve` processes on 127.0.0.1, WAL fsync on every append (group commit), TCP client with all members as endpoints',
        'ours: failover = SIGKILL of the leader until a put commits through the client (the member is then restarted and caught up, not timed)',
      ],
    });
    let round = 0;
    const failover = async (): Promise<number> => {
      const before = await cluster.waitLeader(10000);
      const t0 = performance.now();
      await cluster.stop(before.id, 'SIGKILL');
      await client.put(`bench/failover/${round++}`, 'x');
      const ms = performance.now() - t0;
      await cluster.restart(before.id);
      const want = (await client.status()).commitIndex;
      const deadline = Date.now() + 15000;
      while (Date.now() < deadline) {
        const s = await cluster.status(before.id);
        if (s && s.appliedIndex >= want) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return ms;
    };
    return Object.assign(target, { failover, cluster });
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** `consensus bench ARGS`: resolves with the exit code (see `benchMain`). */
export async function benchCommand(argv: string[]): Promise<number> {
  const args = [...argv];
  if (!args.some((a) => a === '--workloads' || a.startsWith('--workloads='))) {
    args.push('--workloads', [...defaultWorkloads().map((w) => w.id), 'failover'].join(','));
  }
  return await benchMain(args, { startOurs: ({ dataRoot }) => startOursAsProcesses({ dataRoot }) });
}
