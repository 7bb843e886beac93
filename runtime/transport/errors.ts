/**
 * Typed errors of the TCP transport. Every failure the transport reports to a caller carries a
 * stable `code` so higher layers can tell "definitely not sent" from "outcome unknown".
 */

/** Stable codes of {@link TransportError}. */
export type TransportErrorCode =
  /** A length prefix exceeded the configured maximum frame size. */
  | 'frame-too-large'
  /** Bytes that do not follow the framing or envelope format. */
  | 'malformed'
  /** The handshake was refused by this side or by the remote side (see `reason`). */
  | 'handshake-rejected'
  /** The handshake did not complete in time. */
  | 'handshake-timeout'
  /** A request got no reply within its deadline (the request may have been executed). */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** The connection closed before a reply arrived. */
  | 'connection-lost'
  /** The connection could not be established. */
  | 'connect-failed'
  /** The object was closed by its owner. */
  | 'closed'
  /** `reloadTls` got material node:tls refuses, or the network was started without TLS. */
  | 'tls-config';

/** Why a handshake was refused (also the key of `TransportMetrics.rejectedByReason`). */
export type HandshakeRejectReason =
  | 'bad-magic'
  | 'version'
  | 'cluster'
  | 'receiver'
  | 'self'
  | 'wrong-peer'
  | 'malformed'
  | 'frame-too-large'
  | 'timeout'
  | 'tls'
  | 'kind'
  | 'too-many-connections'
  | 'unknown-peer';

/** An error raised or reported by the transport. */
export class TransportError extends Error {
  /** Stable machine-readable code. */
  readonly code: TransportErrorCode;
  /** For `handshake-rejected`: the reason given by whichever side refused. */
  readonly reason: HandshakeRejectReason | undefined;
  /**
   * For client requests: whether the request bytes were handed to the socket. `true` with
   * `timeout`/`connection-lost` means the outcome is indeterminate, never a failure.
   */
  readonly sent: boolean;

  /** Creates an error with a code, message and optional reject reason / sent flag. */
  constructor(
    code: TransportErrorCode,
    message: string,
    opts: { reason?: HandshakeRejectReason; sent?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TransportError';
    this.code = code;
    this.reason = opts.reason;
    this.sent = opts.sent ?? false;
  }
}
