/**
 * The handshake: the first frame on every connection. The connecting side sends a HELLO naming
 * magic, protocol version, kind (peer or client), cluster id, its own id and the id it means to
 * reach; the accepting side answers with an ACK (accepted, or refused with a reason) and closes on
 * refusal. Both are ordinary length-prefixed frames, decoded with a small frame limit so a hostile
 * HELLO cannot make the server buffer much.
 *
 * HELLO: magic(4) "VBCN" | version u16 | kind u8 (1 peer, 2 client) | flags u8 (0) |
 *        str clusterId | str senderId | str receiverId (may be empty)
 * ACK:   magic(4) | version u16 | kind u8 (3) | status u8 (0 ok, else reason code) |
 *        str clusterId | str responderId | str message
 * where str = u16 big-endian byte length + UTF-8 bytes.
 */
import { type HandshakeRejectReason, TransportError } from './errors.js';

/** The four magic bytes at the start of every handshake frame. */
export const HANDSHAKE_MAGIC = Buffer.from('VBCN', 'latin1');
/** Wire protocol version; a peer with another version is refused. */
export const PROTOCOL_VERSION = 1;
/** Maximum size of a handshake frame payload (HELLO or ACK). */
export const MAX_HANDSHAKE_BYTES = 1024;
/** Maximum UTF-8 byte length of an id string in the handshake. */
export const MAX_ID_BYTES = 255;

/** Who is connecting: another cluster member or a client. */
export type ConnectionKind = 'peer' | 'client';

/** The connecting side's first frame. */
export interface Hello {
  version: number;
  kind: ConnectionKind;
  clusterId: string;
  /** Node id (peer) or client id (client). */
  senderId: string;
  /** The node id the sender means to reach; empty when unknown. */
  receiverId: string;
}

/** The accepting side's answer. */
export interface Ack {
  version: number;
  /** `null` when accepted. */
  rejected: HandshakeRejectReason | null;
  clusterId: string;
  responderId: string;
  message: string;
}

const KIND_PEER = 1;
const KIND_CLIENT = 2;
const KIND_ACK = 3;

const REASON_CODES: readonly HandshakeRejectReason[] = [
  'bad-magic',
  'version',
  'cluster',
  'receiver',
  'self',
  'wrong-peer',
  'malformed',
  'frame-too-large',
  'timeout',
  'tls',
  'kind',
  'too-many-connections',
  'unknown-peer', // appended: codes are positions on the wire
];

function reasonToCode(reason: HandshakeRejectReason): number {
  return REASON_CODES.indexOf(reason) + 1;
}

function codeToReason(code: number): HandshakeRejectReason {
  return REASON_CODES[code - 1] ?? 'malformed';
}

/** `s` cut to at most `maxBytes` UTF-8 bytes, never inside a character. */
function truncateUtf8(s: string, maxBytes: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= maxBytes) return s;
  let end = maxBytes;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}

function encodeStrings(head: Buffer, strings: string[]): Buffer {
  const parts: Buffer[] = [head];
  for (const s of strings) {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length > MAX_ID_BYTES)
      throw new RangeError(`handshake string too long (${bytes.length} bytes)`);
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16BE(bytes.length, 0);
    parts.push(len, bytes);
  }
  return Buffer.concat(parts);
}

function head(version: number, kind: number, byte: number): Buffer {
  const h = Buffer.allocUnsafe(8);
  HANDSHAKE_MAGIC.copy(h, 0);
  h.writeUInt16BE(version, 4);
  h.writeUInt8(kind, 6);
  h.writeUInt8(byte, 7);
  return h;
}

/** Encodes a HELLO payload (to be framed). */
export function encodeHello(hello: Omit<Hello, 'version'> & { version?: number }): Buffer {
  return encodeStrings(
    head(hello.version ?? PROTOCOL_VERSION, hello.kind === 'peer' ? KIND_PEER : KIND_CLIENT, 0),
    [hello.clusterId, hello.senderId, hello.receiverId],
  );
}

/** Encodes an ACK payload (to be framed). */
export function encodeAck(ack: Omit<Ack, 'version'> & { version?: number }): Buffer {
  return encodeStrings(
    head(ack.version ?? PROTOCOL_VERSION, KIND_ACK, ack.rejected === null ? 0 : reasonToCode(ack.rejected)),
    [ack.clusterId, ack.responderId, truncateUtf8(ack.message, MAX_ID_BYTES)],
  );
}

function fail(reason: HandshakeRejectReason, message: string): never {
  throw new TransportError('handshake-rejected', message, { reason });
}

/** Reads the magic and version; throws `bad-magic`/`malformed`. Returns the version. */
function readHead(buf: Uint8Array): { version: number; kind: number; byte: number } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.length < 8)
    fail(
      b.length >= 4 && !b.subarray(0, 4).equals(HANDSHAKE_MAGIC) ? 'bad-magic' : 'malformed',
      'handshake too short',
    );
  if (!b.subarray(0, 4).equals(HANDSHAKE_MAGIC)) fail('bad-magic', 'bad handshake magic');
  return { version: b.readUInt16BE(4), kind: b.readUInt8(6), byte: b.readUInt8(7) };
}

function readStrings(buf: Uint8Array, count: number): string[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  let off = 8;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    if (off + 2 > b.length) fail('malformed', 'handshake truncated');
    const len = b.readUInt16BE(off);
    off += 2;
    if (len > MAX_ID_BYTES || off + len > b.length) fail('malformed', 'handshake string out of bounds');
    const bytes = b.subarray(off, off + len);
    const s = bytes.toString('utf8');
    // Reject invalid UTF-8 (round-trip must be exact) so ids are unambiguous.
    if (!Buffer.from(s, 'utf8').equals(bytes)) fail('malformed', 'handshake string is not UTF-8');
    out.push(s);
    off += len;
  }
  if (off !== b.length) fail('malformed', 'trailing bytes in handshake');
  return out;
}

/**
 * Decodes a HELLO. A version other than {@link PROTOCOL_VERSION} throws reason `version` before
 * the rest is parsed (a future format may differ).
 * @throws TransportError `handshake-rejected` with the reason.
 */
export function decodeHello(payload: Uint8Array): Hello {
  const h = readHead(payload);
  if (h.version !== PROTOCOL_VERSION)
    fail('version', `protocol version ${h.version}, expected ${PROTOCOL_VERSION}`);
  if (h.kind !== KIND_PEER && h.kind !== KIND_CLIENT) fail('kind', `unknown connection kind ${h.kind}`);
  if (h.byte !== 0) fail('malformed', 'unknown handshake flags');
  const [clusterId, senderId, receiverId] = readStrings(payload, 3) as [string, string, string];
  if (senderId.length === 0) fail('malformed', 'empty sender id');
  return {
    version: h.version,
    kind: h.kind === KIND_PEER ? 'peer' : 'client',
    clusterId,
    senderId,
    receiverId,
  };
}

/**
 * Decodes an ACK (the version is returned as sent, so a refusal for `version` can be reported).
 * @throws TransportError `handshake-rejected` when the ACK itself is malformed.
 */
export function decodeAck(payload: Uint8Array): Ack {
  const h = readHead(payload);
  if (h.kind !== KIND_ACK) fail('malformed', 'expected handshake ACK');
  const [clusterId, responderId, message] = readStrings(payload, 3) as [string, string, string];
  return {
    version: h.version,
    rejected: h.byte === 0 ? null : codeToReason(h.byte),
    clusterId,
    responderId,
    message,
  };
}
