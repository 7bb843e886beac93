#!/usr/bin/env node
/**
 * `npm run sim -- --seeds N [--start S] [--nodes 3|5|mixed] [--verbose]`: runs N randomized fault
 * schedules (a safety phase with faults, then a liveness phase on a healed cluster) on real Raft
 * members in the deterministic simulator, then measures election time after a leader crash and
 * idle message rates. Prints seeds run, violations (must be 0), liveness failures, election time
 * p50/p99 in simulated ms, messages per idle second (3 and 5 members) and simulated seconds per wall
 * second. A failing seed prints itself with its fault log and the command that replays it exactly.
 * Exit status 1 when any seed failed.
 */
import { parseArgs } from 'node:util';
import { idleMessageRate, measureElection, percentile as pct } from '../cluster/metrics.js';
import { runSchedule } from '../cluster/schedule.js';

const USAGE = 'usage: npm run sim -- [--seeds N] [--start S] [--nodes 3|5|mixed] [--elections N] [--verbose]';

async function main(): Promise<void> {
  let values: {
    seeds: string;
    start: string;
    nodes: string;
    elections?: string;
    verbose: boolean;
    help: boolean;
  };
  try {
    ({ values } = parseArgs({
      options: {
        seeds: { type: 'string', default: '100' },
        start: { type: 'string', default: '1' },
        nodes: { type: 'string', default: 'mixed' },
        elections: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    console.error(`sim: ${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const count = Number(values.seeds);
  const start = Number(values.start);
  const elections = values.elections === undefined ? undefined : Number(values.elections);
  if (
    !Number.isInteger(count) ||
    count < 0 ||
    !Number.isInteger(start) ||
    !['3', '5', 'mixed'].includes(values.nodes) ||
    (elections !== undefined && (!Number.isInteger(elections) || elections < 0))
  ) {
    console.error(
      `sim: bad value (--seeds and --elections take integers >= 0, --nodes 3, 5 or mixed)\n${USAGE}`,
    );
    process.exit(2);
  }
  const nodesFor = (seed: number) =>
    values.nodes === 'mixed' ? (seed % 3 === 0 ? 5 : 3) : Number(values.nodes);
  const wall0 = performance.now();
  let simMs = 0;
  let violations = 0;
  let liveness = 0;
  const failed: number[] = [];
  for (let seed = start; seed < start + count; seed++) {
    // a quarter of the seeds snapshot every 20 entries (InstallSnapshot under faults)
    const config = seed % 4 === 1 ? { snapshotInterval: 20, snapshotChunkBytes: 128 } : undefined;
    const r = await runSchedule({ seed, nodes: nodesFor(seed), config });
    simMs += r.virtualMs;
    violations += r.violations.length;
    liveness += r.liveness.length;
    if (r.violations.length > 0 || r.liveness.length > 0) {
      failed.push(seed);
      console.log(
        `FAIL seed ${seed} (${nodesFor(seed)} members): replay with: npm run sim -- --start ${seed} --seeds 1 --nodes ${nodesFor(seed)}`,
      );
      for (const v of r.violations)
        console.log(`  violation ${v.invariant} at ${v.at.toFixed(1)} ms: ${v.detail}`);
      for (const l of r.liveness) console.log(`  liveness: ${l}`);
      for (const line of r.log.slice(-30)) console.log(`  | ${line}`);
    } else if (values.verbose) {
      console.log(`ok seed ${seed}: ${JSON.stringify(r.proposals)} elections=${r.elections}`);
    }
    if ((seed - start + 1) % 1000 === 0) console.log(`... ${seed - start + 1} seeds`);
  }
  const wallMs = performance.now() - wall0;

  const electionSeeds = elections ?? Math.min(Math.max(count, 50), 500);
  const times: Record<number, number[]> = { 3: [], 5: [] };
  let noLeader = 0;
  for (const n of [3, 5]) {
    for (let seed = start; seed < start + electionSeeds; seed++) {
      const t = await measureElection(seed, n);
      if (t === null) noLeader++;
      else (times[n] as number[]).push(t);
    }
  }
  const idle3 = await idleMessageRate(start, 3);
  const idle5 = await idleMessageRate(start, 5);

  console.log(`seeds run:              ${count} (${start}..${start + count - 1})`);
  console.log(`violations:             ${violations}`);
  console.log(`liveness failures:      ${liveness}`);
  for (const n of [3, 5]) {
    const s = (times[n] as number[]).sort((a, b) => a - b);
    console.log(
      `election after leader crash (${n} members, ${s.length} runs): p50 ${pct(s, 50).toFixed(0)} ms, p99 ${pct(s, 99).toFixed(0)} ms, max ${pct(s, 100).toFixed(0)} ms (simulated)`,
    );
  }
  if (noLeader > 0) console.log(`elections without a new leader within 5 s: ${noLeader}`);
  console.log(`messages per idle second: 3 members ${idle3.toFixed(1)}, 5 members ${idle5.toFixed(1)}`);
  console.log(`simulated seconds per wall second: ${(simMs / wallMs).toFixed(1)}`);
  if (failed.length > 0) {
    console.log(`failed seeds: ${failed.join(', ')}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
