/**
 * The physical floor of a replicated, durable write on this machine: no consensus protocol that
 * acknowledges after a durable local write and one replication round trip can beat
 * fdatasync p50 + 2 x loopback RTT p50 (client -> leader -> follower -> leader -> client, with the
 * follower's and leader's fsyncs overlapping at best).
 *
 * That floor assumes the members' disks are independent. When all members share one disk (the
 * bench's clusters on one machine), a commit needs two of three fdatasyncs that reach the disk
 * together, and they do not overlap for free: the shared-disk floor replaces the lone fdatasync by
 * the second of three simultaneous ones (`measureSharedDiskQuorum`).
 */
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type LatencySummary, summarize } from './stats.js';

/** Floor measurements, all in ms. */
export interface FloorResult {
  fdatasync: LatencySummary;
  rtt: LatencySummary;
  /** fdatasync p50 + 2 x RTT p50. */
  floorMs: number;
  /**
   * One writer alone, measured like `quorumFdatasync` (312-byte pwrite + fdatasync into a
   * zero-filled file, a 1 ms pause between calls): the baseline the shared-disk figure compares with.
   */
  soloFdatasync?: LatencySummary;
  /**
   * Three members on this one disk: per round, the time from releasing three threads at once
   * until the second one's pwrite + fdatasync (each on its own file) returned.
   */
  quorumFdatasync?: LatencySummary;
  /** quorumFdatasync p50 + 2 x RTT p50: the floor of a 3-member cluster whose members share this disk. */
  sharedDiskFloorMs?: number;
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

/**
 * One probe thread: says it is ready, then per round waits for the release, does pwrite +
 * fdatasync and stores the monotonic time (ns) at which both had returned.
 */
const QUORUM_WORKER = `
const { workerData } = require('node:worker_threads');
const { openSync, writeSync, fdatasyncSync, closeSync } = require('node:fs');
const { path, slot, rounds, members, ctl, out, fileBytes } = workerData;
const c = new Int32Array(ctl);
const o = new Float64Array(out);
const fd = openSync(path, 'r+');
const rec = Buffer.alloc(312, 0xab);
Atomics.add(c, 2, 1);
for (let r = 1; r <= rounds; r++) {
  while (Atomics.load(c, 0) < r) Atomics.wait(c, 0, r - 1);
  writeSync(fd, rec, 0, rec.length, ((r - 1) * rec.length) % (fileBytes - rec.length));
  fdatasyncSync(fd);
  o[(r - 1) * members + slot] = Number(process.hrtime.bigint());
  Atomics.add(c, 1, 1);
}
closeSync(fd);
`;

/**
 * Members sharing this disk: `members` threads, each with its own zero-filled file (like a
 * preallocated WAL segment), are released together to do a 312-byte pwrite + fdatasync, with a
 * `gapMs` pause between rounds (a sequential put's pace). Each sample is the time from the
 * release until the second thread's call had returned (the only one's with one member): what a
 * 3-member commit waits for. Rejects if a thread fails or a round takes over 10 s; threads and
 * files are removed in every case.
 */
export async function measureSharedDiskQuorum(
  dir: string,
  opts: { members?: number; iterations?: number; gapMs?: number } = {},
): Promise<number[]> {
  const members = opts.members ?? 3;
  const rounds = opts.iterations ?? 200;
  const gapMs = opts.gapMs ?? 1;
  if (!Number.isInteger(members) || members < 1) throw new RangeError(`members must be >= 1, got ${members}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`iterations must be >= 1, got ${rounds}`);
  const fileBytes = 1 << 20;
  await mkdir(dir, { recursive: true });
  const tmp = await mkdtemp(join(dir, 'floor-quorum-'));
  // ctl: [0] the round released, [1] calls completed, [2] threads ready.
  const ctl = new SharedArrayBuffer(12);
  const out = new SharedArrayBuffer(8 * rounds * members);
  const c = new Int32Array(ctl);
  const releasedAt = new Float64Array(rounds);
  const workers: Worker[] = [];
  let failure: Error | undefined;
  const until = async (done: () => boolean, what: string) => {
    const deadline = performance.now() + 10_000;
    while (!done()) {
      if (failure) throw failure;
      if (performance.now() > deadline) throw new Error(`shared-disk probe: ${what} took over 10 s`);
      await new Promise((res) => setTimeout(res, 0));
    }
  };
  try {
    for (let m = 0; m < members; m++) {
      const path = join(tmp, `member-${m}`);
      const fh = await open(path, 'w');
      try {
        await fh.write(Buffer.alloc(fileBytes), 0, fileBytes, 0);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      const w = new Worker(QUORUM_WORKER, {
        eval: true,
        workerData: { path, slot: m, rounds, members, ctl, out, fileBytes },
      });
      w.on('error', (e) => {
        failure ??= new Error(`shared-disk probe thread ${m} failed: ${e.message}`, { cause: e });
      });
      workers.push(w);
    }
    await until(() => Atomics.load(c, 2) === members, 'starting the threads');
    for (let r = 1; r <= rounds; r++) {
      releasedAt[r - 1] = Number(process.hrtime.bigint());
      Atomics.store(c, 0, r);
      Atomics.notify(c, 0);
      await until(() => Atomics.load(c, 1) >= r * members, `round ${r}`);
      if (gapMs > 0) await new Promise((res) => setTimeout(res, gapMs));
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    await rm(tmp, { recursive: true, force: true });
  }
  const o = new Float64Array(out);
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const ends = Array.from(o.subarray(r * members, (r + 1) * members)).sort((a, b) => a - b);
    samples.push(((ends[Math.min(1, members - 1)] as number) - (releasedAt[r] as number)) / 1e6);
  }
  return samples;
}

/** Measures all three and combines them into the floors (see the module comment). */
export async function measureFloor(
  dir: string,
  opts: { fsyncIterations?: number; rttIterations?: number } = {},
): Promise<FloorResult> {
  const fdatasync = summarize(await measureFdatasync(dir, opts.fsyncIterations ?? 200));
  const rtt = summarize(await measureLoopbackRtt(opts.rttIterations ?? 1000));
  const iterations = opts.fsyncIterations ?? 200;
  const soloFdatasync = summarize(await measureSharedDiskQuorum(dir, { members: 1, iterations }));
  const quorumFdatasync = summarize(await measureSharedDiskQuorum(dir, { members: 3, iterations }));
  return {
    fdatasync,
    rtt,
    floorMs: fdatasync.p50 + 2 * rtt.p50,
    soloFdatasync,
    quorumFdatasync,
    sharedDiskFloorMs: quorumFdatasync.p50 + 2 * rtt.p50,
    dir,
  };
}
