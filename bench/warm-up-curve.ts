/**
 * The warm-up curve behind `DEFAULT_WARMUP_MS`: a fresh 3-process cluster of ours (as `consensus
 * bench` starts it), sequential 128 B puts from one client, p50 per one-second window. Not part of
 * the suite.
 *
 *   npm run build && node dist/bench/warm-up-curve.js [--seconds 14]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOursAsProcesses } from '../runtime/cli/bench-command.js';
import { summarize } from './stats.js';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--seconds');
  const seconds = i >= 0 ? Number(process.argv[i + 1]) : 14;
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`--seconds must be an integer >= 1`);
  const dataRoot = mkdtempSync(join(tmpdir(), 'vibee-warmup-'));
  const target = await startOursAsProcesses({ dataRoot });
  const value = new Uint8Array(128).fill(0x77);
  const t0 = performance.now();
  try {
    for (let w = 0; w < seconds; w++) {
      const lat: number[] = [];
      const start = performance.now();
      while (performance.now() - start < 1000) {
        const t = performance.now();
        await target.put(`warmup-curve/${lat.length % 100}`, value);
        lat.push(performance.now() - t);
      }
      const s = summarize(lat);
      console.log(
        `t=${((start - t0) / 1000).toFixed(0).padStart(2)} s  puts=${String(lat.length).padStart(4)}  p50=${s.p50.toFixed(3)} ms  p99=${s.p99.toFixed(3)} ms`,
      );
    }
  } finally {
    await target.close();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
