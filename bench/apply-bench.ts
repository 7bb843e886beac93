/**
 * Apply benchmark (`npm run bench:apply`, runs from dist after `npm run build`): microseconds per
 * applied put through what a member runs for each committed entry (the exactly-once wrapper, the
 * generated codec, the coordination state machine), next to the decoding alone of the same entries
 * in the same run (the baseline: what any apply has to pay before it changes anything).
 *
 * `--puts N` (default 200000) puts of 128 B values over `--keys K` (default 100) keys, from one
 * client; three passes of each, the median printed.
 */
import { decodeCommandMessage, encodeCommandMessage } from '../generated/index.js';
import { createCoordinationReplica } from '../runtime/coordination/codec.js';
import { DedupStateMachine, decodeEnvelope, encodeEnvelope } from '../runtime/server/envelope.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const PUTS = flag('--puts', 200_000);
const KEYS = flag('--keys', 100);
const PASSES = 3;
const clientId = '8de639bc-f1c7-4995-92e3-dccf66faa90f';
const value = new Uint8Array(128).fill(7);

/** The committed entries of PUTS sequential puts (what the log hands to the state machine). */
function entries(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < PUTS; i++) {
    const command = encodeCommandMessage({
      type: 'KvPut',
      key: `k/${i % KEYS}`,
      value,
      context: { entries: [] },
      actor: clientId,
    });
    out.push(encodeEnvelope({ clientId, sequence: i + 1, command }));
  }
  return out;
}

/** Microseconds per entry of `run` over one pass, the median of PASSES fresh passes. */
function measure(log: Uint8Array[], run: (log: Uint8Array[]) => void): number {
  const times: number[] = [];
  for (let p = 0; p < PASSES; p++) {
    const t0 = performance.now();
    run(log);
    times.push(((performance.now() - t0) * 1000) / log.length);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(PASSES / 2)] as number;
}

const log = entries();
let sink = 0;
const decodeOnly = measure(log, (l) => {
  for (const e of l) {
    const env = decodeEnvelope(e);
    if (env) sink += decodeCommandMessage(env.command).type.length;
  }
});
const apply = measure(log, (l) => {
  const sm = new DedupStateMachine(createCoordinationReplica());
  let index = 1;
  for (const e of l) sink += (sm.apply(e, index++) as Uint8Array).length;
});
if (sink === 0) throw new Error('nothing was decoded or applied');
console.log(`${PUTS} puts of ${value.length} B over ${KEYS} keys, median of ${PASSES} passes`);
console.log('| what                                   | us/entry |');
console.log('|:---------------------------------------|---------:|');
console.log(`| decode only (envelope + command)       | ${decodeOnly.toFixed(2).padStart(8)} |`);
console.log(`| apply (dedup + codec + state machine)  | ${apply.toFixed(2).padStart(8)} |`);
console.log(`apply / decode: ${(apply / decodeOnly).toFixed(1)}x`);
