/**
 * The WAL fault suite: damage a known log (truncation at every byte offset of the last records, a
 * zeroed 512-byte sector at each boundary, a bit flip in every byte of every record) and assert
 * precisely what recovery does: the longest valid prefix when the damage lies in the final write
 * (a torn write, never acknowledged), a WalCorruptionError naming the file and offset otherwise.
 *
 * The expected outcome comes from a model of the record layout computed from the documented format
 * (24-byte header, payload, padding to 8), not from the decoder under test.
 */
import { describe, expect, it } from 'vitest';
import {
  CORRUPTION_REMEDY,
  type HardState,
  openWal,
  segmentFileName,
  WalCorruptionError,
  type WalEntry,
} from '../../runtime/storage/index.js';
import { entry, show } from './helpers.js';
import { MemoryFileSystem } from './memory-fs.js';

const utf8 = new TextEncoder();
const pad8 = (n: number) => Math.ceil(n / 8) * 8;

interface ModelRecord {
  offset: number;
  /** Bytes covered by the crc (header + payload); the padding after them is not checked. */
  checked: number;
  size: number;
  batch: number;
  entry?: WalEntry;
  hardState?: HardState;
}

interface Fixture {
  fs: MemoryFileSystem;
  path: string;
  bytes: Uint8Array;
  records: ModelRecord[];
  segmentSize: number;
}

const hsSize = (hs: HardState) => 20 + (hs.votedFor === null ? 0 : utf8.encode(hs.votedFor).length);

/** A single-segment log of `batches` synced writes; batch b has 1 + b % 4 entries and a hard state. */
async function buildSingleSegment(batches: number): Promise<Fixture> {
  const segmentSize = 8192;
  const fs = new MemoryFileSystem();
  const { wal } = await openWal(fs, 'wal', { segmentSize });
  const headerPayload = 24 + hsSize({ term: 0, votedFor: null, commit: 0 }) + 16;
  const records: ModelRecord[] = [
    { offset: 0, checked: 24 + headerPayload, size: pad8(24 + headerPayload), batch: 0 },
  ];
  let at = records[0]?.size ?? 0;
  let index = 1;
  for (let b = 1; b <= batches; b++) {
    const es: WalEntry[] = [];
    for (let k = 0; k <= b % 4; k++) es.push(entry(index++, b, b));
    const hs: HardState = { term: b, votedFor: b % 3 === 0 ? null : `node-${b}`, commit: index - 2 };
    await wal.save(es, hs);
    for (const e of es) {
      const checked = 24 + 16 + e.payload.length;
      records.push({ offset: at, checked, size: pad8(checked), batch: b, entry: e });
      at += pad8(checked);
    }
    const checked = 24 + hsSize(hs);
    records.push({ offset: at, checked, size: pad8(checked), batch: b, hardState: hs });
    at += pad8(checked);
  }
  const path = `wal/${segmentFileName(1)}`;
  const bytes = fs.getFile(path) as Uint8Array;
  return { fs, path, bytes, records, segmentSize };
}

type Expected =
  | { kind: 'intact' }
  | { kind: 'prefix'; upto: number; torn: boolean }
  | { kind: 'refuse'; offset: number };

/** What recovery must do when bytes [from, to) were changed (to = Infinity for a truncation). */
function expectedOutcome(f: Fixture, mutated: Uint8Array, changed: (pos: number) => boolean): Expected {
  const damaged = (r: ModelRecord) => {
    for (let p = r.offset; p < r.offset + r.checked; p++) if (changed(p)) return true;
    return false;
  };
  const k = f.records.findIndex(damaged);
  if (k === -1) return { kind: 'intact' };
  const r = f.records[k] as ModelRecord;
  if (k === 0) {
    // The only segment's header: an empty segment is an incomplete creation, otherwise refuse.
    return f.records.length > 1 && f.records.slice(1).some((x) => !damaged(x))
      ? { kind: 'refuse', offset: 0 }
      : { kind: 'prefix', upto: 0, torn: false };
  }
  const laterIntact = f.records.slice(k + 1).filter((x) => !damaged(x));
  const lastIntact = laterIntact[laterIntact.length - 1];
  if (lastIntact && lastIntact.batch > r.batch) return { kind: 'refuse', offset: r.offset };
  let torn = false;
  for (let p = r.offset; p < mutated.length; p++) if (mutated[p] !== 0) torn = true;
  return { kind: 'prefix', upto: k, torn };
}

function stateOf(records: ModelRecord[]): { entries: WalEntry[]; hardState: HardState } {
  const es: WalEntry[] = [];
  let hardState: HardState = { term: 0, votedFor: null, commit: 0 };
  for (const r of records) {
    if (r.entry) es.push(r.entry);
    if (r.hardState) hardState = r.hardState;
  }
  return { entries: es, hardState };
}

let cases = 0;

async function check(
  f: Fixture,
  mutated: Uint8Array,
  changed: (pos: number) => boolean,
  label: string,
): Promise<void> {
  cases++;
  const fs = new MemoryFileSystem();
  fs.setFile(f.path, mutated);
  const expected = expectedOutcome(f, mutated, changed);
  const result = await openWal(fs, 'wal', { segmentSize: f.segmentSize }).catch((e: unknown) => e);
  if (expected.kind === 'refuse') {
    expect(result, label).toBeInstanceOf(WalCorruptionError);
    const err = result as WalCorruptionError;
    expect(err.file, label).toBe(f.path);
    expect(err.offset, label).toBe(expected.offset);
    expect(err.message, label).toContain(`WAL corruption in ${f.path} at offset ${expected.offset}: `);
    expect(err.message, label).toContain(CORRUPTION_REMEDY);
    return;
  }
  if (result instanceof Error) throw new Error(`${label}: unexpected ${result.message}`);
  const { wal, recovered } = result as Awaited<ReturnType<typeof openWal>>;
  const keep = expected.kind === 'intact' ? f.records : f.records.slice(0, expected.upto);
  const want = stateOf(keep);
  expect(show(recovered.entries), label).toEqual(show(want.entries));
  expect(recovered.hardState, label).toEqual(want.hardState);
  if (expected.kind === 'prefix' && expected.torn) {
    const r = f.records[expected.upto] as ModelRecord;
    expect(recovered.repair.tornTail?.offset, label).toBe(expected.upto === 0 ? undefined : r.offset);
  } else {
    expect(recovered.repair.tornTail, label).toBeNull();
  }
  // The repaired log accepts appends and survives another restart intact.
  const next = want.entries.length + 1;
  await wal.save([entry(next, 99)], { term: 99, votedFor: 'x', commit: next });
  fs.crash();
  const again = await openWal(fs, 'wal', { segmentSize: f.segmentSize });
  expect(show(again.recovered.entries), label).toEqual(show([...want.entries, entry(next, 99)]));
  expect(again.recovered.repair.tornTail, label).toBeNull();
}

describe('WAL fault suite', () => {
  it('sanity: the model matches the file layout', async () => {
    const f = await buildSingleSegment(12);
    const last = f.records[f.records.length - 1] as ModelRecord;
    let end = f.bytes.length;
    while (end > 0 && f.bytes[end - 1] === 0) end--;
    expect(end).toBeLessThanOrEqual(last.offset + last.checked);
    expect(end).toBeGreaterThan(last.offset + 8);
    expect(f.bytes.length).toBe(f.segmentSize);
  });

  it('truncation and zero-filling at every byte offset of the last four writes', async () => {
    const f = await buildSingleSegment(12);
    const from = (f.records.find((r) => r.batch === 9) as ModelRecord).offset;
    const last = f.records[f.records.length - 1] as ModelRecord;
    let refusals = 0;
    for (let t = from; t <= last.offset + last.size; t++) {
      const mutated = f.bytes.slice(0, t);
      await check(f, mutated, (p) => p >= t, `truncate at ${t}`);
      if (expectedOutcome(f, mutated, (p) => p >= t).kind === 'refuse') refusals++;
      // The same tail zero-filled instead of cut off (a torn write whose end reads as zeros).
      const zeroed = f.bytes.slice();
      zeroed.fill(0, t);
      const changed = (p: number) => p >= t && f.bytes[p] !== 0;
      await check(f, zeroed, changed, `zero-fill from ${t}`);
      if (expectedOutcome(f, zeroed, changed).kind === 'refuse') refusals++;
    }
    expect(refusals).toBe(0); // a truncated tail is always a torn final write
  });

  it('truncation inside the segment header leaves an empty log (incomplete creation)', async () => {
    const f = await buildSingleSegment(0);
    for (let t = 0; t <= (f.records[0] as ModelRecord).size; t++) {
      await check(f, f.bytes.slice(0, t), (p) => p >= t, `truncate header at ${t}`);
    }
  });

  it('a zeroed 512-byte sector at every sector and record boundary', async () => {
    const f = await buildSingleSegment(12);
    const last = f.records[f.records.length - 1] as ModelRecord;
    const starts = new Set<number>();
    for (let s = 0; s < last.offset + last.size; s += 512) starts.add(s);
    for (const r of f.records) starts.add(r.offset);
    const kinds = new Set<string>();
    for (const s of starts) {
      const mutated = f.bytes.slice();
      mutated.fill(0, s, s + 512);
      const changed = (p: number) => p >= s && p < s + 512 && f.bytes[p] !== 0;
      kinds.add(expectedOutcome(f, mutated, changed).kind);
      await check(f, mutated, changed, `zero sector at ${s}`);
    }
    expect([...kinds].sort()).toEqual(['prefix', 'refuse']);
  });

  it('a bit flip in every byte of every record', async () => {
    const f = await buildSingleSegment(12);
    const kinds = new Map<string, number>();
    for (const r of f.records) {
      for (let p = r.offset; p < r.offset + r.size; p++) {
        const mutated = f.bytes.slice();
        mutated[p] = (mutated[p] as number) ^ (1 << (p % 8));
        const changed = (q: number) => q === p;
        const kind = expectedOutcome(f, mutated, changed).kind;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        await check(f, mutated, changed, `bit flip at ${p} (record at ${r.offset})`);
      }
    }
    // Every kind occurs: mid-log flips refuse, flips in the final write give a prefix, flips in
    // padding change nothing.
    expect(kinds.get('refuse')).toBeGreaterThan(500);
    expect(kinds.get('prefix')).toBeGreaterThan(20);
    expect(kinds.get('intact')).toBeGreaterThan(10);
  });

  it('ran at least 1,000 cases', () => {
    expect(cases).toBeGreaterThanOrEqual(1000);
    console.log(`WAL fault suite: ${cases} cases`);
  });
});
