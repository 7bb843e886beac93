/**
 * The TCP transport: the contract's `Network` over real TCP (optionally mutual TLS) and the client
 * channel on the same port. Frames are opaque bytes; this layer never looks inside them.
 */

export type { HandshakeRejectReason, TransportErrorCode } from './errors.js';
export { TransportError } from './errors.js';
export {
  ABSOLUTE_MAX_FRAME_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  frameHeader,
} from './framing.js';
export type { Ack, ConnectionKind, Hello } from './handshake.js';
export {
  decodeAck,
  decodeHello,
  encodeAck,
  encodeHello,
  HANDSHAKE_MAGIC,
  MAX_HANDSHAKE_BYTES,
  PROTOCOL_VERSION,
} from './handshake.js';
export type { Endpoint } from './socket-util.js';
export { parseEndpoint } from './socket-util.js';
export { createTcpClientConnection } from './tcp-client.js';
export { createTcpNetwork, reconnectDelay, resolveLimits } from './tcp-network.js';
export type * from './types.js';
