/**
 * Exactly-once client commands: the log envelope and the replicated dedup wrapper.
 *
 * Envelope (the bytes of a command log entry), version 1:
 *   u8 0xC1 (magic+version) | uvarint len | client id (UTF-8, len bytes) | uvarint sequence |
 *   the encoded `CommandMessage` (generated codec) to the end.
 * Client id '' with sequence 0 marks an internal command (the leader's TimeAdvance/SessionExpire):
 * never deduplicated. Bytes without the magic are passed to the inner machine unchanged (entries
 * written before the envelope existed).
 *
 * The dedup wrapper remembers, per client, the encoded results of its last `window` sequences
 * (and a floor below which older sequences were forgotten). A retried sequence returns the cached
 * result without applying twice; a sequence at or below the floor that is no longer cached returns
 * `SEQUENCE_EXPIRED` (the client retried too late to know; it reports indeterminate). The table is
 * part of the snapshot, so a restarted or caught-up member deduplicates the same way. Determinism:
 * only log contents and indexes decide what is kept (eviction of idle clients by last index).
 *
 * Forgotten clients. Past `maxClients` the idlest client is forgotten, and a retry from it would
 * look like a new client's first command. Sequence epochs close that gap: a client numbers its
 * commands from `epoch * SEQUENCE_EPOCH`, where `epoch` is a log index it saw committed before it
 * sent any of them, so each of those commands can only ever apply above index `epoch`. The table
 * keeps `forgottenUpTo`, the highest last index of any such client it forgot. A command from an unknown
 * client whose epoch is below `forgottenUpTo` may have applied before the client was forgotten: it
 * gets `SEQUENCE_EXPIRED` instead of a second application. Otherwise it starts a new record whose
 * floor is its epoch's first sequence. Epoch 0 (sequences below SEQUENCE_EPOCH: old clients, log
 * entries written before epochs existed) keeps the old rule, so replaying an old log gives the same
 * state.
 */
import { encodeResultMessage } from '../../generated/index.js';
import { errorResult } from '../coordination/state-machine.js';
import type { StateMachine } from '../node/kv-state-machine.js';

/** First byte of a version-2 dedup snapshot (a JSON version 1 starts with '{'). */
const DEDUP_SNAPSHOT_V2 = 0xd2;

/** First byte of a version-3 dedup snapshot (version 2 plus `forgottenUpTo`). */
const DEDUP_SNAPSHOT_V3 = 0xd3;

/** First byte of an enveloped command. */
export const ENVELOPE_MAGIC = 0xc1;

/**
 * Sequences per epoch: a client's sequence `s` belongs to epoch `floor(s / SEQUENCE_EPOCH)`, a log
 * index that was committed before the client first sent `s` (see the module doc). 2^20 leaves room
 * for log indexes up to 2^33 within the 2^53 of a safe integer.
 */
export const SEQUENCE_EPOCH = 2 ** 20;

/** The epoch (a committed log index, 0 for unstamped sequences) a sequence was numbered in. */
export function sequenceEpoch(sequence: number): number {
  return Math.floor(sequence / SEQUENCE_EPOCH);
}

/** A decoded envelope. */
export interface Envelope {
  clientId: string;
  sequence: number;
  command: Uint8Array;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

function writeUvarint(out: number[], n: number): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readUvarint(b: Uint8Array, pos: { p: number }): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    const x = b[pos.p++];
    if (x === undefined) throw new RangeError('truncated varint');
    v += (x & 0x7f) * mul;
    if (x < 0x80) return v;
    mul *= 0x80;
  }
  throw new RangeError('varint too long');
}

/** Encodes an envelope (see module doc). */
export function encodeEnvelope(e: Envelope): Uint8Array {
  const id = utf8.encode(e.clientId);
  const head: number[] = [ENVELOPE_MAGIC];
  writeUvarint(head, id.length);
  const seq: number[] = [];
  writeUvarint(seq, e.sequence);
  const out = new Uint8Array(head.length + id.length + seq.length + e.command.length);
  out.set(head, 0);
  out.set(id, head.length);
  out.set(seq, head.length + id.length);
  out.set(e.command, head.length + id.length + seq.length);
  return out;
}

/** Decodes an envelope; null when `bytes` is not one (no magic, or malformed header). */
export function decodeEnvelope(bytes: Uint8Array): Envelope | null {
  if (bytes[0] !== ENVELOPE_MAGIC) return null;
  try {
    const pos = { p: 1 };
    const len = readUvarint(bytes, pos);
    if (pos.p + len > bytes.length) return null;
    const clientId = utf8d.decode(bytes.subarray(pos.p, pos.p + len));
    pos.p += len;
    const sequence = readUvarint(bytes, pos);
    return { clientId, sequence, command: bytes.subarray(pos.p) };
  } catch {
    return null;
  }
}

interface ClientRecord {
  floor: number;
  lastIndex: number;
  results: Map<number, Uint8Array>;
}

/** Whether a client ever sent an epoch-numbered sequence (its sequences only grow from there). */
function usedEpochs(rec: ClientRecord): boolean {
  if (rec.floor >= SEQUENCE_EPOCH) return true;
  for (const sequence of rec.results.keys()) if (sequence >= SEQUENCE_EPOCH) return true;
  return false;
}

/** Options of `DedupStateMachine`. */
export interface DedupOptions {
  /** Results remembered per client (default 256). */
  window?: number;
  /** Clients remembered; the one idle longest (lowest last index) is forgotten first (default 4096). */
  maxClients?: number;
}

/** The exactly-once wrapper around a byte-level state machine (see module doc). */
export class DedupStateMachine implements StateMachine {
  private readonly window: number;
  private readonly maxClients: number;
  private clients = new Map<string, ClientRecord>();
  /** The highest `lastIndex` of any client forgotten so far (replicated: part of the snapshot). */
  private forgottenUpTo = 0;
  /** Number of retried commands answered from the cache (a local counter, not replicated state). */
  duplicates = 0;

  constructor(
    readonly inner: StateMachine,
    opts: DedupOptions = {},
  ) {
    this.window = opts.window ?? 256;
    this.maxClients = opts.maxClients ?? 4096;
  }

  /** Applies an enveloped command once per (client, sequence); returns the encoded result. */
  apply(command: Uint8Array, index: number): unknown {
    const env = decodeEnvelope(command);
    if (!env) return this.inner.apply(command, index);
    if (env.clientId === '' && env.sequence === 0) return this.inner.apply(env.command, index);
    let rec = this.clients.get(env.clientId);
    if (rec) {
      const cached = rec.results.get(env.sequence);
      if (cached) {
        this.duplicates++;
        return cached;
      }
      if (env.sequence <= rec.floor) {
        return encodeResultMessage(
          errorResult(
            'SEQUENCE_EXPIRED',
            `sequence ${env.sequence} of client ${env.clientId} is older than the dedup window; its outcome is unknown`,
          ),
        );
      }
    } else {
      const epoch = sequenceEpoch(env.sequence);
      if (epoch > 0 && epoch < this.forgottenUpTo) {
        return encodeResultMessage(
          errorResult(
            'SEQUENCE_EXPIRED',
            `client ${env.clientId} is not remembered (clients idle since index ${this.forgottenUpTo} or earlier ` +
              `were forgotten) and sequence ${env.sequence} was numbered at index ${epoch}: it may have been ` +
              'applied before, so its outcome is unknown',
          ),
        );
      }
      rec = { floor: epoch * SEQUENCE_EPOCH, lastIndex: index, results: new Map() };
      this.clients.set(env.clientId, rec);
      this.evictClients();
    }
    const result = this.inner.apply(env.command, index);
    const bytes = result instanceof Uint8Array ? result : utf8.encode(JSON.stringify(result ?? null));
    rec.results.set(env.sequence, bytes);
    rec.lastIndex = index;
    // Move to the end: insertion order = last-use order (deterministic eviction).
    this.clients.delete(env.clientId);
    this.clients.set(env.clientId, rec);
    while (rec.results.size > this.window) {
      const oldest = rec.results.keys().next().value as number;
      rec.results.delete(oldest);
      rec.floor = Math.max(rec.floor, oldest);
    }
    return result;
  }

  private evictClients(): void {
    while (this.clients.size > this.maxClients) {
      const [id, rec] = this.clients.entries().next().value as [string, ClientRecord];
      this.clients.delete(id);
      // Only a client that numbered in epochs can be protected, so only such a client counts. That
      // also keeps members in step across an upgrade: a log written before epochs has none, so a
      // member replaying it and one restoring an older snapshot (forgottenUpTo 0) agree.
      if (usedEpochs(rec)) this.forgottenUpTo = Math.max(this.forgottenUpTo, rec.lastIndex);
    }
  }

  /**
   * Snapshot, version 3 (binary, so the inner machine's bytes are not re-encoded):
   *   u8 0xD3 | u32 BE length of the inner snapshot | inner snapshot | UTF-8 JSON
   *   `{"forgottenUpTo": N, "clients": [[id, floor, lastIndex, [[seq, base64 result]...]]...]}`.
   * `restore` also reads version 2 (0xD2, the same with the bare client array, forgottenUpTo 0)
   * and version 1 (JSON `{v:1, inner: base64, clients}`), written before.
   */
  snapshot(): Uint8Array {
    const clients = [...this.clients].map(([id, r]) => [
      id,
      r.floor,
      r.lastIndex,
      [...r.results].map(([s, b]) => [s, Buffer.from(b).toString('base64')]),
    ]);
    const inner = this.inner.snapshot();
    const table = Buffer.from(JSON.stringify({ forgottenUpTo: this.forgottenUpTo, clients }), 'utf8');
    const out = Buffer.allocUnsafe(5 + inner.length + table.length);
    out[0] = DEDUP_SNAPSHOT_V3;
    out.writeUInt32BE(inner.length, 1);
    out.set(inner, 5);
    out.set(table, 5 + inner.length);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }

  /** Restores a snapshot written by `snapshot()` (either version). */
  restore(snapshot: Uint8Array): void {
    let inner: Uint8Array;
    let clients: [string, number, number, [number, string][]][];
    let forgottenUpTo = 0;
    const binary = snapshot[0] === DEDUP_SNAPSHOT_V3 || snapshot[0] === DEDUP_SNAPSHOT_V2;
    if (binary && snapshot.length >= 5) {
      const view = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.length);
      const innerLength = view.readUInt32BE(1);
      if (5 + innerLength > snapshot.length) throw new Error('truncated dedup snapshot');
      inner = snapshot.slice(5, 5 + innerLength);
      const table = JSON.parse(utf8d.decode(snapshot.subarray(5 + innerLength)));
      if (snapshot[0] === DEDUP_SNAPSHOT_V3) {
        clients = table.clients;
        forgottenUpTo = table.forgottenUpTo;
      } else clients = table;
    } else {
      const doc = JSON.parse(utf8d.decode(snapshot)) as {
        v: number;
        inner: string;
        clients: [string, number, number, [number, string][]][];
      };
      if (doc.v !== 1) throw new Error(`unsupported dedup snapshot version ${doc.v}`);
      inner = new Uint8Array(Buffer.from(doc.inner, 'base64'));
      clients = doc.clients;
    }
    this.inner.restore(inner);
    this.forgottenUpTo = forgottenUpTo;
    this.clients = new Map();
    for (const [id, floor, lastIndex, results] of clients) {
      this.clients.set(id, {
        floor,
        lastIndex,
        results: new Map(results.map(([s, b]) => [s, new Uint8Array(Buffer.from(b, 'base64'))])),
      });
    }
  }
}
