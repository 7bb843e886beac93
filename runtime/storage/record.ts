/**
 * The WAL record format. Every record is 8-byte aligned and self-checking:
 *
 *   offset 0  u32 LE  crc32 (zlib.crc32) of bytes [4, 24 + length)
 *   offset 4  u32 LE  length of the payload
 *   offset 8  u8      type (RecordType; 0 is never written, so zero-filled space is never a record)
 *   offset 9  3 bytes reserved, zero
 *   offset 12 u32 LE  batchStart: segment offset where the write that carried this record began
 *   offset 16 u64 LE  seq: position of the record in the whole log (consecutive across segments)
 *   offset 24 payload, then zero padding up to a multiple of 8
 *
 * `seq` makes a lost or stale record detectable even when its neighbours are intact; `batchStart`
 * lets recovery tell damage inside the last (possibly torn, never acknowledged) write from damage
 * to earlier, synced data.
 */
import { crc32 } from 'node:zlib';

/** Bytes before the payload. */
export const RECORD_HEADER_SIZE = 24;
/** Records start at multiples of this. */
export const RECORD_ALIGN = 8;

/** Record type tags. */
export const RecordType = {
  /** First record of every segment: segment number, base index, hard state and snapshot so far. */
  SegmentHeader: 1,
  /** One log entry: index, term, opaque payload. Overwrites any entries from its index on. */
  Entry: 2,
  /** Hard state: term, vote, commit. */
  HardState: 3,
  /** A durable snapshot covers the log up to (index, term). */
  Snapshot: 4,
  /** Discards the log from an index on. */
  TruncateSuffix: 5,
  /** Last record of a segment that has a successor. */
  Seal: 6,
} as const;

/** A record type tag. */
export type RecordTypeTag = (typeof RecordType)[keyof typeof RecordType];

const MAX_TYPE = 6;

/** Size on disk of a record with a payload of `payloadLength` bytes (header, payload, padding). */
export function recordSize(payloadLength: number): number {
  const raw = RECORD_HEADER_SIZE + payloadLength;
  return Math.ceil(raw / RECORD_ALIGN) * RECORD_ALIGN;
}

/** Writes a u64 (a safe integer) little-endian. */
export function putU64(view: DataView, at: number, n: number): void {
  view.setUint32(at, n % 0x1_0000_0000, true);
  view.setUint32(at + 4, Math.floor(n / 0x1_0000_0000), true);
}

/** Reads a u64 written by `putU64` (values above 2^53 are not produced by this code). */
export function getU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;
}

/**
 * Encodes one record into `target` at `at` (which must have room for `recordSize(payload.length)`
 * bytes, zero-filled for the padding). Returns the number of bytes used.
 */
export function writeRecord(
  target: Uint8Array,
  at: number,
  type: RecordTypeTag,
  seq: number,
  batchStart: number,
  payload: Uint8Array,
): number {
  const view = new DataView(target.buffer, target.byteOffset + at, RECORD_HEADER_SIZE);
  view.setUint32(4, payload.length, true);
  view.setUint8(8, type);
  view.setUint8(9, 0);
  view.setUint16(10, 0, true);
  view.setUint32(12, batchStart, true);
  putU64(view, 16, seq);
  target.set(payload, at + RECORD_HEADER_SIZE);
  const crc = crc32(target.subarray(at + 4, at + RECORD_HEADER_SIZE + payload.length));
  view.setUint32(0, crc, true);
  return recordSize(payload.length);
}

/** A record that passed every check. */
export interface DecodedRecord {
  ok: true;
  type: RecordTypeTag;
  seq: number;
  batchStart: number;
  /** A view into the source buffer. */
  payload: Uint8Array;
  /** Bytes the record occupies, padding included. */
  size: number;
}

/** Why no record could be read at an offset. */
export type RecordDefect = 'zero' | 'short' | 'bad-length' | 'bad-crc' | 'bad-type';

/** The result of decoding at an offset. */
export type DecodeResult = DecodedRecord | { ok: false; defect: RecordDefect };

function allZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Decodes the record at `at`, reading no byte at or beyond `limit`. Never throws. */
export function decodeRecordAt(bytes: Uint8Array, at: number, limit: number): DecodeResult {
  if (at + RECORD_HEADER_SIZE > limit) {
    return { ok: false, defect: allZero(bytes, at, limit) ? 'zero' : 'short' };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, RECORD_HEADER_SIZE);
  const length = view.getUint32(4, true);
  const type = view.getUint8(8);
  if (length === 0 && type === 0 && allZero(bytes, at, at + RECORD_HEADER_SIZE)) {
    return { ok: false, defect: 'zero' };
  }
  if (length > limit - at - RECORD_HEADER_SIZE) return { ok: false, defect: 'bad-length' };
  const end = at + RECORD_HEADER_SIZE + length;
  if (crc32(bytes.subarray(at + 4, end)) !== view.getUint32(0, true)) {
    return { ok: false, defect: 'bad-crc' };
  }
  if (type < 1 || type > MAX_TYPE || view.getUint8(9) !== 0 || view.getUint16(10, true) !== 0) {
    return { ok: false, defect: 'bad-type' };
  }
  return {
    ok: true,
    type: type as RecordTypeTag,
    seq: getU64(view, 16),
    batchStart: view.getUint32(12, true),
    payload: bytes.subarray(at + RECORD_HEADER_SIZE, end),
    size: recordSize(length),
  };
}

/** Index one past the last non-zero byte of `bytes[0, limit)` (0 when all zero). */
export function endOfData(bytes: Uint8Array, limit: number): number {
  let i = limit;
  while (i > 0 && bytes[i - 1] === 0) i--;
  return i;
}

// ---- payload codecs -------------------------------------------------------------------------

/** Raft hard state: what must be durable before answering a vote or an append. */
export interface HardState {
  term: number;
  votedFor: string | null;
  commit: number;
}

/** A log entry; the payload is opaque to the WAL (the Raft layer encodes its own entries). */
export interface WalEntry {
  index: number;
  term: number;
  payload: Uint8Array;
}

/** Where a snapshot ends in the log. */
export interface SnapshotMeta {
  index: number;
  term: number;
}

/** Contents of a segment header record. */
export interface SegmentHeader {
  segment: number;
  /** Last log index when the segment was created (entries in it continue from base + 1). */
  base: number;
  hardState: HardState;
  snapshot: SnapshotMeta;
}

const SEGMENT_MAGIC = 0x5657_414c; // 'VWAL'
const FORMAT_VERSION = 1;
const NULL_STRING = 0xffff_ffff;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Thrown by payload decoders for a payload that passed its crc but does not parse. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
}

/**
 * The last vote encoded, as UTF-8: a member saves its hard state with every append it takes (the
 * commit moves), while the vote changes once a term at most.
 */
let lastVote: { id: string; bytes: Uint8Array } = { id: '', bytes: new Uint8Array(0) };

function voteBytes(votedFor: string): Uint8Array {
  if (votedFor !== lastVote.id) lastVote = { id: votedFor, bytes: utf8.encode(votedFor) };
  return lastVote.bytes;
}

function hardStateSize(hs: HardState): number {
  return 20 + (hs.votedFor === null ? 0 : voteBytes(hs.votedFor).length);
}

function putHardState(view: DataView, bytes: Uint8Array, at: number, hs: HardState): number {
  putU64(view, at, hs.term);
  putU64(view, at + 8, hs.commit);
  if (hs.votedFor === null) {
    view.setUint32(at + 16, NULL_STRING, true);
    return at + 20;
  }
  const vote = voteBytes(hs.votedFor);
  bytes.set(vote, at + 20);
  view.setUint32(at + 16, vote.length, true);
  return at + 20 + vote.length;
}

function getHardState(view: DataView, bytes: Uint8Array, at: number): [HardState, number] {
  if (at + 20 > bytes.length) throw new PayloadError('hard state is truncated');
  const term = getU64(view, at);
  const commit = getU64(view, at + 8);
  const len = view.getUint32(at + 16, true);
  if (len === NULL_STRING) return [{ term, votedFor: null, commit }, at + 20];
  if (at + 20 + len > bytes.length) throw new PayloadError('votedFor is truncated');
  let votedFor: string;
  try {
    votedFor = fromUtf8.decode(bytes.subarray(at + 20, at + 20 + len));
  } catch {
    throw new PayloadError('votedFor is not UTF-8');
  }
  return [{ term, votedFor, commit }, at + 20 + len];
}

/** Encodes a hard state record payload. */
export function encodeHardState(hs: HardState): Uint8Array {
  const out = new Uint8Array(hardStateSize(hs));
  putHardState(new DataView(out.buffer), out, 0, hs);
  return out;
}

/** Decodes a hard state record payload. */
export function decodeHardState(p: Uint8Array): HardState {
  const [hs, end] = getHardState(new DataView(p.buffer, p.byteOffset, p.length), p, 0);
  if (end !== p.length) throw new PayloadError('trailing bytes after hard state');
  return hs;
}

/** Encodes an entry record payload: index u64, term u64, payload. */
export function encodeEntry(e: WalEntry): Uint8Array {
  const out = new Uint8Array(16 + e.payload.length);
  const view = new DataView(out.buffer);
  putU64(view, 0, e.index);
  putU64(view, 8, e.term);
  out.set(e.payload, 16);
  return out;
}

/** Decodes an entry record payload (the entry's payload is copied out of the segment buffer). */
export function decodeEntry(p: Uint8Array): WalEntry {
  if (p.length < 16) throw new PayloadError('entry is truncated');
  const view = new DataView(p.buffer, p.byteOffset, p.length);
  return { index: getU64(view, 0), term: getU64(view, 8), payload: p.slice(16) };
}

/** Encodes a pair of u64 (snapshot marker: index, term). */
export function encodeSnapshotMeta(s: SnapshotMeta): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  putU64(view, 0, s.index);
  putU64(view, 8, s.term);
  return out;
}

/** Decodes a snapshot marker payload. */
export function decodeSnapshotMeta(p: Uint8Array): SnapshotMeta {
  if (p.length !== 16) throw new PayloadError('snapshot marker has the wrong size');
  const view = new DataView(p.buffer, p.byteOffset, p.length);
  return { index: getU64(view, 0), term: getU64(view, 8) };
}

/** Encodes a truncate-suffix payload: the first index discarded. */
export function encodeTruncate(from: number): Uint8Array {
  const out = new Uint8Array(8);
  putU64(new DataView(out.buffer), 0, from);
  return out;
}

/** Decodes a truncate-suffix payload. */
export function decodeTruncate(p: Uint8Array): number {
  if (p.length !== 8) throw new PayloadError('truncate marker has the wrong size');
  return getU64(new DataView(p.buffer, p.byteOffset, p.length), 0);
}

/** Encodes a segment header payload. */
export function encodeSegmentHeader(h: SegmentHeader): Uint8Array {
  const out = new Uint8Array(24 + hardStateSize(h.hardState) + 16);
  const view = new DataView(out.buffer);
  view.setUint32(0, SEGMENT_MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  putU64(view, 8, h.segment);
  putU64(view, 16, h.base);
  const at = putHardState(view, out, 24, h.hardState);
  putU64(view, at, h.snapshot.index);
  putU64(view, at + 8, h.snapshot.term);
  return out;
}

/** Decodes a segment header payload. */
export function decodeSegmentHeader(p: Uint8Array): SegmentHeader {
  if (p.length < 24) throw new PayloadError('segment header is truncated');
  const view = new DataView(p.buffer, p.byteOffset, p.length);
  if (view.getUint32(0, true) !== SEGMENT_MAGIC) throw new PayloadError('bad segment magic');
  const version = view.getUint32(4, true);
  if (version !== FORMAT_VERSION) throw new PayloadError(`unsupported WAL format version ${version}`);
  const [hardState, at] = getHardState(view, p, 24);
  if (at + 16 !== p.length) throw new PayloadError('segment header has the wrong size');
  return {
    segment: getU64(view, 8),
    base: getU64(view, 16),
    hardState,
    snapshot: { index: getU64(view, at), term: getU64(view, at + 8) },
  };
}
