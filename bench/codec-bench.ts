/**
 * Codec benchmark (`npm run bench:codec`, runs from dist after `npm run build`): encode+decode
 * round trips per second of the generated codecs, msgpackr (`Packr` with and without records) and
 * JSON, on the same messages in the same run. Prints a table, and the ratio to the best msgpackr.
 *
 * JSON cannot carry Uint8Array: bytes are written as arrays of numbers (and not revived), which
 * flatters JSON slightly. `--ms N` sets the time per measurement (default 700).
 */
import { Packr } from 'msgpackr';
import { decodeRaftMessage, encodeRaftMessage, type RaftMessage } from '../generated/index.js';

const msArg = process.argv.indexOf('--ms');
const MEASURE_MS = msArg > 0 ? Number(process.argv[msArg + 1]) : 700;

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Representative Raft traffic: heartbeats, votes, a 16-entry append and its response. */
const MESSAGES: { name: string; msg: RaftMessage }[] = [
  {
    name: 'AppendRequest (heartbeat)',
    msg: {
      type: 'AppendRequest',
      term: 42,
      leaderId: 'node-1',
      prevLogIndex: 123456,
      prevLogTerm: 41,
      entries: [],
      leaderCommit: 123450,
      readSeq: 7,
    },
  },
  {
    name: 'AppendRequest (16 x 128 B)',
    msg: {
      type: 'AppendRequest',
      term: 42,
      leaderId: 'node-1',
      prevLogIndex: 123456,
      prevLogTerm: 41,
      entries: Array.from({ length: 16 }, (_, i) => ({
        index: 123457 + i,
        term: 42,
        entryType: 'command' as const,
        command: bytes(128, i),
        timestamp: 1_700_000_000 + i,
      })),
      leaderCommit: 123450,
      readSeq: 7,
    },
  },
  {
    name: 'AppendResponse',
    msg: {
      type: 'AppendResponse',
      term: 42,
      success: true,
      matchIndex: 123472,
      conflictIndex: 0,
      conflictTerm: 0,
      lastLogIndex: 123472,
      readSeq: 7,
    },
  },
  {
    name: 'VoteRequest',
    msg: {
      type: 'VoteRequest',
      term: 43,
      candidateId: 'node-3',
      lastLogIndex: 123472,
      lastLogTerm: 42,
      isPreVote: true,
      leadershipTransfer: false,
    },
  },
];

interface Codec {
  name: string;
  encode(m: RaftMessage): Uint8Array;
  decode(b: Uint8Array): unknown;
}

const plain = new Packr({ useRecords: false });
const records = new Packr({ structures: [] });
const te = new TextEncoder();
const td = new TextDecoder();
const CODECS: Codec[] = [
  { name: 'generated', encode: encodeRaftMessage, decode: decodeRaftMessage },
  { name: 'msgpackr', encode: (m) => plain.pack(m), decode: (b) => plain.unpack(b) },
  { name: 'msgpackr+records', encode: (m) => records.pack(m), decode: (b) => records.unpack(b) },
  {
    name: 'JSON',
    encode: (m) => te.encode(JSON.stringify(m, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v))),
    decode: (b) => JSON.parse(td.decode(b)),
  },
];

let sink = 0;
/** Round trips per second (after a warm-up), and the encoded size. */
function measure(c: Codec, m: RaftMessage): { opsPerSec: number; size: number } {
  const size = c.encode(m).length;
  const deadlineWarm = performance.now() + MEASURE_MS / 3;
  while (performance.now() < deadlineWarm)
    for (let i = 0; i < 100; i++) sink += (c.decode(c.encode(m)) as { term?: number }).term ?? 0;
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < MEASURE_MS) {
    for (let i = 0; i < 200; i++) sink += (c.decode(c.encode(m)) as { term?: number }).term ?? 0;
    ops += 200;
    now = performance.now();
  }
  return { opsPerSec: (ops * 1000) / (now - start), size };
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);
const rows: string[][] = [
  ['message', ...CODECS.map((c) => `${c.name} ops/s (bytes)`), 'generated / best msgpackr'],
];
const ratios: number[] = [];
for (const { name, msg } of MESSAGES) {
  const decoded = decodeRaftMessage(encodeRaftMessage(msg));
  if (
    JSON.stringify(decoded, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v)) !==
    JSON.stringify(msg, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v))
  ) {
    throw new Error(`round trip mismatch for ${name}`);
  }
  const results = CODECS.map((c) => measure(c, msg));
  const gen = results[0]?.opsPerSec ?? 0;
  const bestMsgpack = Math.max(results[1]?.opsPerSec ?? 0, results[2]?.opsPerSec ?? 0);
  ratios.push(gen / bestMsgpack);
  rows.push([
    name,
    ...results.map((r) => `${fmt(r.opsPerSec)} (${r.size})`),
    `${(gen / bestMsgpack).toFixed(2)}x`,
  ]);
}
const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
const geo = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
console.log(
  `\nencode+decode round trips; geometric mean generated / best msgpackr: ${geo.toFixed(2)}x (target >= 1.5x)`,
);
if (sink === Number.MIN_VALUE) console.log(sink);
