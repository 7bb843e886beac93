/**
 * The physical floor of a replicated, durable write on this machine: no consensus protocol that
 * acknowledges after a durable local write and one replication round trip can beat
 * fdatasync p50 + 2 x loopback RTT p50 (client -> leader -> follower -> leader -> client, with the
 * follower's and leader's fsyncs overlapping at best).
 */
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { type LatencySummary, summarize } from './stats.js';

/** Floor measurements, all in ms. */
export interface FloorResult {
  fdatasync: LatencySummary;
  rtt: LatencySummary;
  /** fdatasync p50 + 2 x RTT p50. */
  floorMs: number;
  /** Directory whose file system was measured. */
  dir: string;
}

/**
 * fdatasync latency: appends 4 KiB blocks to a fresh temp file under `dir` and fdatasyncs after
 * each, `iterations` times. The file and its temp dir are removed afterwards.
 */
export async function measureFdatasync(dir: string, iterations = 200): Promise<number[]> {
  await mkdir(dir, { recursive: true });
  const tmp = await mkdtemp(join(dir, 'floor-'));
  const fh = await open(join(tmp, 'sync-probe'), 'w');
  const block = Buffer.alloc(4096, 0xab);
  const samples: number[] = [];
  try {
    for (let i = 0; i < iterations; i++) {
      await fh.write(block, 0, block.length, i * block.length);
      const t0 = performance.now();
      await fh.datasync();
      samples.push(performance.now() - t0);
    }
  } finally {
    await fh.close();
    await rm(tmp, { recursive: true, force: true });
  }
  return samples;
}

/**
 * Loopback TCP round trip: a tiny echo server on 127.0.0.1 and one client with Nagle off; each
 * sample is write of 64 bytes until the 64 bytes come back.
 */
export async function measureLoopbackRtt(iterations = 1000): Promise<number[]> {
  const server = createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('unexpected listener address');
  const sock: Socket = createConnection({ host: '127.0.0.1', port: addr.port });
  await new Promise<void>((r, j) => {
    sock.once('connect', () => r());
    sock.once('error', j);
  });
  sock.setNoDelay(true);
  const msg = Buffer.alloc(64, 1);
  const samples: number[] = [];
  try {
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        let got = 0;
        const onData = (d: Buffer) => {
          got += d.length;
          if (got >= msg.length) {
            sock.off('data', onData);
            resolve();
          }
        };
        sock.on('data', onData);
        sock.write(msg);
      });
      samples.push(performance.now() - t0);
    }
  } finally {
    sock.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
  return samples;
}

/** Measures both and combines them into the floor (see the module comment). */
export async function measureFloor(
  dir: string,
  opts: { fsyncIterations?: number; rttIterations?: number } = {},
): Promise<FloorResult> {
  const fdatasync = summarize(await measureFdatasync(dir, opts.fsyncIterations ?? 200));
  const rtt = summarize(await measureLoopbackRtt(opts.rttIterations ?? 1000));
  return { fdatasync, rtt, floorMs: fdatasync.p50 + 2 * rtt.p50, dir };
}
