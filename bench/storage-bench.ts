/**
 * WAL micro-benchmark on the real disk (node:fs adapter): sequential durable save latency (one
 * entry, one write + fdatasync each) and group-commit throughput (`concurrency` savers in flight,
 * sharing fdatasyncs). Run after a build: `node dist/bench/storage-bench.js [DIR]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createNodeFileSystem } from '../runtime/env/node-fs.js';
import { openWal } from '../runtime/storage/index.js';
import { type LatencySummary, summarize } from './stats.js';

/** Results of `runStorageBench`. */
export interface StorageBenchResult {
  /** Latency of one durable single-entry save, ms. */
  sequentialSave: LatencySummary;
  /** Entries made durable per second with `concurrency` savers in flight. */
  groupCommitEntriesPerSec: number;
  /** Average entries per fdatasync in the group-commit run. */
  entriesPerSync: number;
  concurrency: number;
  payloadBytes: number;
  preallocate: 'sparse' | 'zero';
}

/** Runs the benchmark in a fresh temp dir under `baseDir` (removed afterwards). */
export async function runStorageBench(
  baseDir: string = tmpdir(),
  opts: {
    iterations?: number;
    concurrency?: number;
    payloadBytes?: number;
    groupEntries?: number;
    preallocate?: 'sparse' | 'zero';
  } = {},
): Promise<StorageBenchResult> {
  const iterations = opts.iterations ?? 300;
  const concurrency = opts.concurrency ?? 64;
  const payloadBytes = opts.payloadBytes ?? 256;
  const groupEntries = opts.groupEntries ?? 20_000;
  const dir = await mkdtemp(join(baseDir, 'vibee-wal-bench-'));
  const fs = createNodeFileSystem(dir);
  try {
    const { wal } = await openWal(fs, 'wal', { preallocate: opts.preallocate });
    const payload = new Uint8Array(payloadBytes).fill(7);
    let index = 1;
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      await wal.save([{ index: index++, term: 1, payload }]);
      samples.push(performance.now() - t0);
    }
    const syncsBefore = wal.stats().syncs;
    const t0 = performance.now();
    let issued = 0;
    const worker = async () => {
      while (issued < groupEntries) {
        issued++;
        await wal.save([{ index: index++, term: 1, payload }]);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - t0) / 1000;
    const syncs = wal.stats().syncs - syncsBefore;
    return {
      sequentialSave: summarize(samples),
      groupCommitEntriesPerSec: Math.round(groupEntries / seconds),
      entriesPerSync: Math.round((groupEntries / Math.max(1, syncs)) * 10) / 10,
      concurrency,
      payloadBytes,
      preallocate: opts.preallocate ?? 'zero', // the WAL's default
    };
  } finally {
    await fs.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const preallocate of ['sparse', 'zero'] as const) {
    const r = await runStorageBench(process.argv[2], { preallocate });
    const s = r.sequentialSave;
    console.log(
      `WAL (${preallocate} segments) sequential durable save (1 x ${r.payloadBytes} B): ` +
        `p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`,
    );
    console.log(
      `WAL (${preallocate} segments) group commit (${r.concurrency} in flight): ` +
        `${r.groupCommitEntriesPerSec} entries/s, ${r.entriesPerSync} entries per fdatasync`,
    );
  }
}
