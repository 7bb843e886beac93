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
 * Bytes. A put's result carries the stored value: a put whose result repeats its own value is kept
 * without it (a retry carries the same command, which supplies the value again), and the results
 * kept are bounded per client and in total (`maxResultBytesPerClient`, `maxResultBytes`): past a
 * budget the oldest large results (of the idlest clients first) are replaced by a stub answering
 * `SEQUENCE_EXPIRED`. Only the form of a cached result changes, never whether a sequence is
 * cached, so the budgets never change what applies; they are decided by the log alone.
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
import { crc32 } from 'node:zlib';
import {
  type CommandMessage,
  decodeCommandMessage,
  decodeResultMessage,
  encodeResultMessage,
} from '../../generated/index.js';
import { errorResult } from '../coordination/state-machine.js';
import { drainSnapshotSteps, type StateMachine } from '../node/kv-state-machine.js';
import { joinParts, partsAtHand } from '../wire/parts.js';
import { encodeUtf8Into } from '../wire/utf8.js';
import { decodeUtf8, utf8ByteLength } from '../wire/v1.js';

/** First byte of a version-2 dedup snapshot (a JSON version 1 starts with '{'). */
const DEDUP_SNAPSHOT_V2 = 0xd2;

/** First byte of a version-3 dedup snapshot (version 2 plus `forgottenUpTo`). */
const DEDUP_SNAPSHOT_V3 = 0xd3;

/**
 * First byte of a version-4 dedup snapshot: version 3 with the client table in binary, so that a
 * restore decodes it in steps. Versions 2 and 3 JSON-parse the table in one piece: with tens of
 * MiB of cached results that stopped a member's event loop for about 300 ms.
 */
const DEDUP_SNAPSHOT_V4 = 0xd4;

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

/** Bytes of `n` as an unsigned LEB128 varint (arithmetic, not bitwise: sequences exceed 2^32). */
function uvarintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

/** Writes `n` as an unsigned LEB128 varint at `at`; returns the position after it. */
function writeUvarintAt(out: Uint8Array, at: number, n: number): number {
  let v = n;
  let p = at;
  while (v >= 0x80) {
    out[p++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[p++] = v;
  return p;
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
  const idBytes = utf8ByteLength(e.clientId);
  const out = new Uint8Array(1 + uvarintSize(idBytes) + idBytes + uvarintSize(e.sequence) + e.command.length);
  out[0] = ENVELOPE_MAGIC;
  let at = writeUvarintAt(out, 1, idBytes);
  at = encodeUtf8Into(e.clientId, out, at);
  at = writeUvarintAt(out, at, e.sequence);
  out.set(e.command, at);
  return out;
}

/** Decodes an envelope; null when `bytes` is not one (no magic, or malformed header). */
export function decodeEnvelope(bytes: Uint8Array): Envelope | null {
  if (bytes[0] !== ENVELOPE_MAGIC) return null;
  try {
    const pos = { p: 1 };
    const len = readUvarint(bytes, pos);
    if (pos.p + len > bytes.length) return null;
    const clientId = decodeUtf8(bytes, pos.p, pos.p + len);
    pos.p += len;
    const sequence = readUvarint(bytes, pos);
    return { clientId, sequence, command: bytes.subarray(pos.p) };
  } catch {
    return null;
  }
}

/** Listeners of `onInnerRestored`, per inner machine (weak: a dropped machine drops its listeners). */
const restoreListeners = new WeakMap<object, Set<() => void>>();

/**
 * Calls `listener` after every `DedupStateMachine.restore` of a dedup wrapper around `inner` (an
 * installed snapshot replaces the state without any apply, so without events: the request handler
 * re-checks its waits here). Returns the unsubscribe function.
 */
export function onInnerRestored(inner: object, listener: () => void): () => void {
  let set = restoreListeners.get(inner);
  if (!set) {
    set = new Set();
    restoreListeners.set(inner, set);
  }
  set.add(listener);
  return () => {
    restoreListeners.get(inner)?.delete(listener);
  };
}

/**
 * How a result is kept: `full` (the encoded result as applied), `fill` (a put's result whose value
 * is the put's own value, kept without it: a retry carries the same command, which supplies it), or
 * `stub` (dropped for the byte budgets: a retry is answered SEQUENCE_EXPIRED, outcome unknown). In
 * every form the sequence stays cached, so no retry of it is ever applied again.
 */
type CachedKind = 'full' | 'fill' | 'stub';

interface Cached {
  kind: CachedKind;
  bytes: Uint8Array;
  /**
   * `fill` only: CRC-32 of the value left out. A retry whose value differs (a client id reused
   * with other commands) gets SEQUENCE_EXPIRED, never a value that was not written.
   */
  digest?: number;
}

interface ClientRecord {
  floor: number;
  lastIndex: number;
  results: Map<number, Cached>;
  /** Bytes of this client's cached results that count against the budgets (all but stubs). */
  bytes: number;
}

/** Snapshot tag of a cached result's form (absent: full; read as full by releases before it). */
const KIND_TAG: Record<CachedKind, number> = { full: 0, fill: 1, stub: 2 };
const TAG_KIND: CachedKind[] = ['full', 'fill', 'stub'];

/** Results longer than this are examined for `fill` (a put whose result repeats its value). */
const FILL_MIN_BYTES = 1024;

/** What a retry of a result dropped for the byte budgets gets (the client: indeterminate). */
const STUB: Cached = {
  kind: 'stub',
  bytes: encodeResultMessage(
    errorResult('SEQUENCE_EXPIRED', 'the result was too large to keep for retries; its outcome is unknown'),
  ),
};

function decodeCommandOrNull(bytes: Uint8Array): CommandMessage | null {
  try {
    return decodeCommandMessage(bytes);
  } catch {
    return null;
  }
}

/** The cached form of `bytes`, the result of `command` (see `Cached`). */
function cachedForm(command: Uint8Array, bytes: Uint8Array): Cached {
  if (bytes.length <= FILL_MIN_BYTES) return { kind: 'full', bytes };
  const cmd = decodeCommandOrNull(command);
  if (cmd?.type !== 'KvPut') return { kind: 'full', bytes };
  try {
    const r = decodeResultMessage(bytes);
    if (
      r.ok &&
      r.value !== null &&
      Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length).equals(cmd.value)
    )
      return { kind: 'fill', bytes: encodeResultMessage({ ...r, value: null }), digest: crc32(cmd.value) };
  } catch {
    // not a coordination result: kept as it is
  }
  return { kind: 'full', bytes };
}

/** The answer to a retry (carrying `command`) from its cached form. */
function answerFrom(c: Cached, command: Uint8Array): Uint8Array {
  if (c.kind !== 'fill') return c.bytes;
  const cmd = decodeCommandOrNull(command);
  if (cmd?.type !== 'KvPut' || crc32(cmd.value) !== c.digest) return STUB.bytes;
  return encodeResultMessage({ ...decodeResultMessage(c.bytes), value: cmd.value });
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
  /**
   * Bytes of cached results per client (default 4 MiB); past it the client's oldest results are
   * dropped (a retry of one gets SEQUENCE_EXPIRED: indeterminate). The same on every member.
   */
  maxResultBytesPerClient?: number;
  /**
   * Bytes of cached results over all clients (default 64 MiB); past it the oldest results of the
   * idlest clients are dropped first. The same on every member.
   */
  maxResultBytes?: number;
}

/** The exactly-once wrapper around a byte-level state machine (see module doc). */
/**
 * Where the leader leaves the commands it decoded on receipt, so that applying its own entries
 * does not decode them again (about 7 µs of a put's critical path on a cold cache).
 */
export interface DecodedProposals {
  /**
   * `entry` (the proposed bytes, by identity: the log hands the same array to `apply`) is the
   * envelope `envelope` of a command that the inner machine's own decoder decodes to `command`.
   * Used once, by the entry's first apply; forgotten with the array.
   */
  rememberDecoded(entry: Uint8Array, envelope: Envelope, command: unknown): void;
}

/** An inner machine that applies a command its caller already decoded (`CoordinationReplica`). */
interface AppliesDecoded {
  applyDecoded(command: unknown, index: number): unknown;
}

export class DedupStateMachine implements StateMachine, DecodedProposals {
  private readonly window: number;
  private readonly maxClients: number;
  private readonly maxClientBytes: number;
  private readonly maxTotalBytes: number;
  private clients = new Map<string, ClientRecord>();
  /** Sum of every client's `bytes`. */
  private totalBytes = 0;
  /** The highest `lastIndex` of any client forgotten so far (replicated: part of the snapshot). */
  private forgottenUpTo = 0;
  /** Number of retried commands answered from the cache (a local counter, not replicated state). */
  duplicates = 0;
  /** See `DecodedProposals` (local, never part of the state). */
  private readonly decoded = new WeakMap<Uint8Array, { envelope: Envelope; command: unknown }>();
  /** Whether the inner machine has `applyDecoded` (looked up at each call: tests may spy on it). */
  private readonly appliesDecoded: boolean;

  constructor(
    readonly inner: StateMachine,
    opts: DedupOptions = {},
  ) {
    this.window = opts.window ?? 256;
    this.maxClients = opts.maxClients ?? 4096;
    this.maxClientBytes = opts.maxResultBytesPerClient ?? 4 * 1024 * 1024;
    this.maxTotalBytes = opts.maxResultBytes ?? 64 * 1024 * 1024;
    this.appliesDecoded = typeof (inner as Partial<AppliesDecoded>).applyDecoded === 'function';
  }

  rememberDecoded(entry: Uint8Array, envelope: Envelope, command: unknown): void {
    if (this.appliesDecoded) this.decoded.set(entry, { envelope, command });
  }

  /** Bytes of cached results held (what the budgets bound; a local view, for tests and metrics). */
  get cachedResultBytes(): number {
    return this.totalBytes;
  }

  /** Applies an enveloped command once per (client, sequence); returns the encoded result. */
  apply(command: Uint8Array, index: number): unknown {
    const known = this.decoded.get(command);
    if (known) this.decoded.delete(command);
    const env = known ? known.envelope : decodeEnvelope(command);
    if (!env) return this.inner.apply(command, index);
    if (env.clientId === '' && env.sequence === 0) return this.inner.apply(env.command, index);
    let rec = this.clients.get(env.clientId);
    if (rec) {
      const cached = rec.results.get(env.sequence);
      if (cached) {
        this.duplicates++;
        return answerFrom(cached, env.command);
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
      rec = { floor: epoch * SEQUENCE_EPOCH, lastIndex: index, results: new Map(), bytes: 0 };
      this.clients.set(env.clientId, rec);
      this.evictClients();
    }
    const result =
      known && this.appliesDecoded
        ? (this.inner as unknown as AppliesDecoded).applyDecoded(known.command, index)
        : this.inner.apply(env.command, index);
    const bytes = result instanceof Uint8Array ? result : utf8.encode(JSON.stringify(result ?? null));
    const kept = cachedForm(env.command, bytes);
    rec.results.set(env.sequence, kept);
    this.count(rec, kept, 1);
    rec.lastIndex = index;
    // Move to the end: insertion order = last-use order (deterministic eviction).
    this.clients.delete(env.clientId);
    this.clients.set(env.clientId, rec);
    while (rec.results.size > this.window) {
      const [oldest, c] = rec.results.entries().next().value as [number, Cached];
      rec.results.delete(oldest);
      this.count(rec, c, -1);
      rec.floor = Math.max(rec.floor, oldest);
    }
    this.enforceBudgets(rec);
    return result;
  }

  private count(rec: ClientRecord, c: Cached, sign: 1 | -1): void {
    if (c.kind === 'stub') return;
    rec.bytes += sign * c.bytes.length;
    this.totalBytes += sign * c.bytes.length;
  }

  /**
   * Replaces `rec`'s oldest results (large ones first) by stubs until its bytes are at most
   * `limit`. Only the form
   * changes: every sequence stays cached, so what applies is the same as without budgets, and every
   * member (whatever budget it runs with) applies the same commands. Decided by the log alone.
   */
  private stubOldest(rec: ClientRecord, limit: number): void {
    // Large results first (they are what the budgets are for), then, if need be, the rest.
    for (const minBytes of [FILL_MIN_BYTES + 1, 0])
      for (const [sequence, c] of rec.results) {
        if (rec.bytes <= limit) return;
        if (c.kind === 'stub' || c.bytes.length < minBytes) continue;
        this.count(rec, c, -1);
        rec.results.set(sequence, STUB); // an existing key keeps its place
      }
  }

  /** The per-client budget for `rec` (just used), then the total one, idlest clients first. */
  private enforceBudgets(rec: ClientRecord): void {
    if (rec.bytes > this.maxClientBytes) this.stubOldest(rec, this.maxClientBytes);
    if (this.totalBytes <= this.maxTotalBytes) return;
    for (const r of this.clients.values()) {
      if (this.totalBytes <= this.maxTotalBytes) return;
      if (r.bytes === 0) continue;
      this.stubOldest(r, Math.max(0, r.bytes - (this.totalBytes - this.maxTotalBytes)));
    }
  }

  private evictClients(): void {
    while (this.clients.size > this.maxClients) {
      const [id, rec] = this.clients.entries().next().value as [string, ClientRecord];
      this.clients.delete(id);
      this.totalBytes -= rec.bytes;
      // Only a client that numbered in epochs can be protected, so only such a client counts. That
      // also keeps members in step across an upgrade: a log written before epochs has none, so a
      // member replaying it and one restoring an older snapshot (forgottenUpTo 0) agree.
      if (usedEpochs(rec)) this.forgottenUpTo = Math.max(this.forgottenUpTo, rec.lastIndex);
    }
  }

  /**
   * Snapshot, version 4 (binary, so the inner machine's bytes are not re-encoded):
   *   u8 0xD4 | u32 BE length of the inner snapshot | inner snapshot | client table
   * with the client table as `readClientTable` describes it (each cached result with its form:
   * full, a put's result kept without its value, or a stub; see `Cached`). `restore` also reads
   * version 3 (0xD3, the table as UTF-8 JSON `{"forgottenUpTo": N, "clients": [[id, floor,
   * lastIndex, [[seq, base64 result, form?]...]]...]}`), version 2 (0xD2, the bare JSON client
   * array, forgottenUpTo 0) and version 1 (JSON `{v:1, inner: base64, clients}`), written before.
   */
  snapshot(): Uint8Array {
    return drainSnapshotSteps(this.snapshotSteps());
  }

  /**
   * `snapshot()` in steps (see `StateMachine.snapshotSteps`). Captured now: each client's floor,
   * last index and result entries (a cached result is replaced, never changed), and the inner
   * machine's state (its own steps, or its bytes when it has none).
   */
  snapshotSteps(): Iterator<void, Uint8Array, void> {
    const clients = [...this.clients].map(([id, r]) => ({
      id,
      floor: r.floor,
      lastIndex: r.lastIndex,
      results: [...r.results],
    }));
    // A coordination replica hands its bytes over in parts: joined once, behind this header.
    const parts = (this.inner as Partial<SnapshotParts>).snapshotParts?.();
    const inner = parts ?? this.inner.snapshotSteps?.() ?? this.inner.snapshot();
    return writeDedupSnapshot(this.forgottenUpTo, clients, inner);
  }

  /** Restores a snapshot written by `snapshot()` (either version). */
  restore(snapshot: Uint8Array): void {
    const steps = this.restoreSteps(snapshot);
    while (!steps.next().done);
  }

  /**
   * `restore` in steps: the client table is decoded first (yielding every
   * `SNAPSHOT_STEP_RESULTS` results), then the inner machine's own steps run; its last step and
   * the swap of this table happen together, so no one sees one state without the other.
   */
  *restoreSteps(snapshot: Uint8Array): Generator<void, void, void> {
    let inner: Uint8Array;
    let clients: [string, number, number, [number, string, number?, number?][]][] = [];
    let forgottenUpTo = 0;
    let table = new Map<string, ClientRecord>();
    let totalBytes = 0;
    const binary =
      snapshot[0] === DEDUP_SNAPSHOT_V4 ||
      snapshot[0] === DEDUP_SNAPSHOT_V3 ||
      snapshot[0] === DEDUP_SNAPSHOT_V2;
    if (binary && snapshot.length >= 5) {
      const view = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.length);
      const innerLength = view.readUInt32BE(1);
      if (5 + innerLength > snapshot.length) throw new Error('truncated dedup snapshot');
      // A view, not a copy: the inner machine copies what it keeps.
      inner = snapshot.subarray(5, 5 + innerLength);
      if (snapshot[0] === DEDUP_SNAPSHOT_V4) {
        ({ forgottenUpTo, table, totalBytes } = yield* readClientTable(view, 5 + innerLength));
      } else {
        const json = JSON.parse(utf8d.decode(snapshot.subarray(5 + innerLength)));
        if (snapshot[0] === DEDUP_SNAPSHOT_V3) {
          clients = json.clients;
          forgottenUpTo = json.forgottenUpTo;
        } else clients = json;
      }
    } else {
      const doc = JSON.parse(utf8d.decode(snapshot)) as {
        v: number;
        inner: string;
        clients: [string, number, number, [number, string, number?, number?][]][];
      };
      if (doc.v !== 1) throw new Error(`unsupported dedup snapshot version ${doc.v}`);
      inner = new Uint8Array(Buffer.from(doc.inner, 'base64'));
      clients = doc.clients;
    }
    // Versions 1-3: the table as JSON.
    let since = 0;
    for (const [id, floor, lastIndex, results] of clients) {
      const rec: ClientRecord = { floor, lastIndex, results: new Map(), bytes: 0 };
      for (const [s, b, tag, digest] of results) {
        const kind = TAG_KIND[tag ?? 0] ?? 'full';
        const c: Cached =
          kind === 'stub' ? STUB : { kind, bytes: new Uint8Array(Buffer.from(b, 'base64')), digest };
        rec.results.set(s, c);
        if (c.kind !== 'stub') rec.bytes += c.bytes.length;
      }
      totalBytes += rec.bytes;
      table.set(id, rec);
      since += results.length + 1;
      if (since >= SNAPSHOT_STEP_RESULTS) {
        since = 0;
        yield;
      }
    }
    const steps = this.inner.restoreSteps?.(inner);
    if (steps) for (let r = steps.next(); !r.done; r = steps.next()) yield;
    else this.inner.restore(inner);
    this.forgottenUpTo = forgottenUpTo;
    this.clients = table;
    this.totalBytes = totalBytes;
    for (const listener of [...(restoreListeners.get(this.inner) ?? [])]) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the restore itself succeeded.
      }
    }
  }
}

/** A step of `writeDedupSnapshot` ends after this many cached results... */
const SNAPSHOT_STEP_RESULTS = 4096;
/** ...or this many bytes of them. */
const SNAPSHOT_STEP_RESULT_BYTES = 1024 * 1024;

/** What a coordination replica offers besides `snapshotSteps` (see `coordination/codec.ts`). */
interface SnapshotParts {
  snapshotParts(): Iterator<void, Uint8Array[], void>;
}

/** The bytes of `DedupStateMachine.snapshot()` from a captured client table and inner state. */
function* writeDedupSnapshot(
  forgottenUpTo: number,
  clients: readonly { id: string; floor: number; lastIndex: number; results: [number, Cached][] }[],
  inner: Iterator<void, Uint8Array | Uint8Array[], void> | Uint8Array,
): Generator<void, Uint8Array, void> {
  let innerParts: Uint8Array[];
  if (inner instanceof Uint8Array) innerParts = [inner];
  else {
    let r = inner.next();
    while (!r.done) {
      yield;
      r = inner.next();
    }
    innerParts = Array.isArray(r.value) ? r.value : [r.value];
  }
  let innerBytes = 0;
  for (const p of innerParts) innerBytes += p.length;
  if (innerBytes > 0xffffffff)
    throw new RangeError(`inner snapshot of ${innerBytes} bytes does not fit a u32 length`);
  // The table (see `readClientTable`), one client at a time.
  const head = Buffer.allocUnsafe(12);
  head.writeDoubleBE(forgottenUpTo, 0);
  head.writeUInt32BE(clients.length, 8);
  const table: Uint8Array[] = [head];
  let results = 0;
  let bytes = 0;
  for (const c of clients) {
    const idBytes = utf8ByteLength(c.id);
    let size = 4 + idBytes + 8 + 8 + 4;
    for (const [, r] of c.results)
      size += 13 + (r.kind === 'stub' ? 0 : r.bytes.length + (r.kind === 'fill' ? 8 : 0));
    const out = Buffer.allocUnsafe(size);
    out.writeUInt32BE(idBytes, 0);
    let at = encodeUtf8Into(c.id, out, 4);
    at = out.writeDoubleBE(c.floor, at);
    at = out.writeDoubleBE(c.lastIndex, at);
    at = out.writeUInt32BE(c.results.length, at);
    for (const [seq, r] of c.results) {
      at = out.writeDoubleBE(seq, at);
      out[at++] = KIND_TAG[r.kind];
      // A stub's bytes are the same for all: restored from STUB, not stored.
      const kept = r.kind === 'stub' ? 0 : r.bytes.length;
      at = out.writeUInt32BE(kept, at);
      if (kept > 0) out.set(r.bytes, at);
      at += kept;
      if (r.kind === 'fill') at = out.writeDoubleBE(r.digest ?? 0, at);
      bytes += kept;
    }
    table.push(out);
    results += c.results.length + 1;
    if (results >= SNAPSHOT_STEP_RESULTS || bytes >= SNAPSHOT_STEP_RESULT_BYTES) {
      results = 0;
      bytes = 0;
      yield;
    }
  }
  // One buffer: u8 version | u32 inner length | inner parts | table.
  return yield* joinParts(partsAtHand([...innerParts, ...table]), 5, (out) => {
    out[0] = DEDUP_SNAPSHOT_V4;
    new DataView(out.buffer, out.byteOffset, 5).setUint32(1, innerBytes);
  });
}

/**
 * The client table of a dedup snapshot as `DedupStateMachine.snapshot()` writes it (version 4),
 * for inspection and tests: per client id, its floor, last index and the cached sequences.
 * @throws Error when `snapshot` is not a version-4 dedup snapshot, or is damaged.
 */
export function readDedupSnapshotTable(snapshot: Uint8Array): {
  forgottenUpTo: number;
  clients: Map<string, { floor: number; lastIndex: number; sequences: number[] }>;
} {
  if (snapshot[0] !== DEDUP_SNAPSHOT_V4 || snapshot.length < 5)
    throw new Error(`not a version-4 dedup snapshot (first byte ${snapshot[0]})`);
  const view = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.length);
  const steps = readClientTable(view, 5 + view.readUInt32BE(1));
  let r = steps.next();
  while (!r.done) r = steps.next();
  const clients = new Map<string, { floor: number; lastIndex: number; sequences: number[] }>();
  for (const [id, rec] of r.value.table)
    clients.set(id, { floor: rec.floor, lastIndex: rec.lastIndex, sequences: [...rec.results.keys()] });
  return { forgottenUpTo: r.value.forgottenUpTo, clients };
}

/**
 * Decodes a version-4 client table from `at` to the end of `view`, yielding every
 * `SNAPSHOT_STEP_RESULTS` results or `SNAPSHOT_STEP_RESULT_BYTES` bytes of them. Numbers are
 * big-endian; a result's bytes are copied (the snapshot buffer is not kept alive by them).
 *
 *   f64 forgottenUpTo | u32 client count | clients:
 *     u32 id length | id (UTF-8) | f64 floor | f64 last index | u32 result count | results:
 *       f64 sequence | u8 kind tag | u32 length | bytes | f64 digest (kind `fill` only)
 *
 * @throws Error `truncated dedup snapshot` / `malformed dedup snapshot: ...`
 */
function* readClientTable(
  view: Buffer,
  start: number,
): Generator<void, { forgottenUpTo: number; table: Map<string, ClientRecord>; totalBytes: number }, void> {
  let at = start;
  const need = (n: number): void => {
    if (at + n > view.length) throw new Error('truncated dedup snapshot');
  };
  need(12);
  const forgottenUpTo = view.readDoubleBE(at);
  const count = view.readUInt32BE(at + 8);
  at += 12;
  const table = new Map<string, ClientRecord>();
  let totalBytes = 0;
  let results = 0;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    need(4);
    const idLength = view.readUInt32BE(at);
    at += 4;
    need(idLength + 20);
    const id = decodeUtf8(view, at, at + idLength);
    at += idLength;
    const rec: ClientRecord = {
      floor: view.readDoubleBE(at),
      lastIndex: view.readDoubleBE(at + 8),
      results: new Map(),
      bytes: 0,
    };
    const n = view.readUInt32BE(at + 16);
    at += 20;
    for (let j = 0; j < n; j++) {
      need(13);
      const seq = view.readDoubleBE(at);
      const kind = TAG_KIND[view[at + 8] as number];
      const length = view.readUInt32BE(at + 9);
      at += 13;
      if (kind === undefined) throw new Error(`malformed dedup snapshot: result kind tag ${view[at - 5]}`);
      need(length + (kind === 'fill' ? 8 : 0));
      let c: Cached = STUB;
      if (kind !== 'stub') {
        c = { kind, bytes: new Uint8Array(view.subarray(at, at + length)) };
        if (kind === 'fill') c.digest = view.readDoubleBE(at + length);
        rec.bytes += length;
      }
      at += length + (kind === 'fill' ? 8 : 0);
      rec.results.set(seq, c);
      bytes += length;
      if (++results >= SNAPSHOT_STEP_RESULTS || bytes >= SNAPSHOT_STEP_RESULT_BYTES) {
        results = 0;
        bytes = 0;
        yield;
      }
    }
    totalBytes += rec.bytes;
    table.set(id, rec);
  }
  if (at !== view.length)
    throw new Error(`malformed dedup snapshot: ${view.length - at} bytes after the client table`);
  return { forgottenUpTo, table, totalBytes };
}
