/**
 * A large replicated state and its snapshots: starts our 3-process cluster, writes `--keys` keys of
 * `--value-bytes` (64 in flight), then runs sequential puts for `--seconds` and prints their
 * latency, the longest, and the terms before and after (a term change is a leader election). Each
 * member snapshots the whole state every few thousand entries: this is the figure for how much a
 * snapshot of a large state disturbs the cluster. Not part of the bench suite.
 *
 *   npm run build && node dist/bench/big-state.js [--keys 150000] [--value-bytes 512] [--seconds 20]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOursAsProcesses } from '../runtime/cli/bench-command.js';
import { connect } from '../runtime/client/client.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

/** `consensus_snapshots_total` of a member's /metrics. */
async function snapshotsOf(httpPort: number): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = /^consensus_snapshots_total (\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

async function main(): Promise<void> {
  const keys = arg('keys', 150_000);
  const valueBytes = arg('value-bytes', 512);
  const seconds = arg('seconds', 20);
  const dataRoot = mkdtempSync(join(tmpdir(), 'vibee-big-state-'));
  const target = await startOursAsProcesses({ dataRoot });
  const client = await connect({ endpoints: target.cluster.endpoints, timeoutMs: 30_000 });
  try {
    const value = new Uint8Array(valueBytes).fill(3);
    const term = async () => (await client.status()).term;
    const term0 = (await target.cluster.waitLeader(15_000)).term;
    let next = 0;
    const fillStart = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < keys) await client.put(`big/${next++}`, value);
      }),
    );
    const fillSeconds = (performance.now() - fillStart) / 1000;
    const term1 = await term();
    const lat: number[] = [];
    const end = performance.now() + seconds * 1000;
    for (let i = 0; performance.now() < end; i++) {
      const t = performance.now();
      await client.put(`seq/${i % 1000}`, value);
      lat.push(performance.now() - t);
    }
    const term2 = await term();
    lat.sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] as number;
    const snapshots = await Promise.all(target.cluster.members.map((m) => snapshotsOf(m.httpPort)));
    const out = {
      keys,
      valueBytes,
      fillSeconds: Number(fillSeconds.toFixed(1)),
      termAtStart: term0,
      termAfterFill: term1,
      termAtEnd: term2,
      puts: lat.length,
      p50Ms: Number(q(0.5).toFixed(3)),
      p99Ms: Number(q(0.99).toFixed(2)),
      p999Ms: Number(q(0.999).toFixed(1)),
      maxMs: Number((lat.at(-1) as number).toFixed(1)),
      putsOver100Ms: lat.filter((x) => x > 100).length,
      snapshotsTaken: snapshots,
    };
    console.log(
      `${keys} keys of ${valueBytes} B written in ${out.fillSeconds} s (term ${term0} -> ${term1}); ` +
        `${out.puts} sequential puts in ${seconds} s: p50 ${out.p50Ms} ms, p99 ${out.p99Ms} ms, p99.9 ${out.p999Ms} ms, ` +
        `max ${out.maxMs} ms, ${out.putsOver100Ms} over 100 ms (term ${term1} -> ${term2}); snapshots taken per member: ${snapshots.join(', ')}`,
    );
    console.log(JSON.stringify(out));
  } finally {
    await client.close();
    await target.close();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
