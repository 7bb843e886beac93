/**
 * The TCP transport: the contract's `Network` over real TCP (optionally mutual TLS) and the client
 * channel on the same port. Frames are opaque bytes; this layer never looks inside them.
 */
export { TransportError } from './errors.js';
export type { HandshakeRejectReason, TransportErrorCode } from './errors.js';
export {
  ABSOLUTE_MAX_FRAME_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  encodeFrame,
  frameHeader,
} from './framing.js';
export {
  HANDSHAKE_MAGIC,
  MAX_HANDSHAKE_BYTES,
  PROTOCOL_VERSION,
  decodeAck,
  decodeHello,
  encodeAck,
  encodeHello,
} from './handshake.js';
export type { Ack, ConnectionKind, Hello } from './handshake.js';
export { parseEndpoint } from './socket-util.js';
export type { Endpoint } from './socket-util.js';
export { createTcpNetwork, resolveLimits } from './tcp-network.js';
export { createTcpClientConnection } from './tcp-client.js';
export type * from './types.js';
