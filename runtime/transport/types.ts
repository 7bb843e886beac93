/** Options, metrics, events and logger types of the TCP transport. */
import type { Network } from '../env/types.js';
import type { HandshakeRejectReason } from './errors.js';

/**
 * Minimal structured logger; a pino logger fits (`logger.warn({ peer }, 'msg')`). Defaults to a
 * silent logger.
 */
export interface TransportLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** PEM material for mutual TLS; both sides present a certificate signed by `ca`. */
export interface TransportTlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  ca: string | Buffer | Array<string | Buffer>;
  /**
   * Hostname check of the remote certificate when connecting. Defaults to node's check against the
   * host of the peer address; pass `() => undefined` to rely on the CA alone.
   */
  checkServerIdentity?: (host: string, cert: import('node:tls').PeerCertificate) => Error | undefined;
  /**
   * Bind member ids to certificates: an inbound peer is refused (`tls`) unless its certificate's
   * subject CN, or one of its DNS subject alternative names, equals the member id it claims; a
   * dialed member is refused likewise unless its certificate names the id it was dialed as.
   * Default false (any certificate from `ca` may claim any member id); turn it on when every
   * member's certificate names its id.
   */
  requirePeerIdInCertificate?: boolean;
}

/** Tunables; every field has a default suited to production (tests shorten the timeouts). */
export interface TransportLimits {
  /** Largest frame payload accepted or sent. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Frames queued per peer while disconnected or backpressured. Default 1024. */
  maxQueueFrames?: number;
  /** Bytes queued per peer. Default 64 MiB. */
  maxQueueBytes?: number;
  /** What to drop when a peer's queue is full. Default `drop-oldest` (newest state wins). */
  queueOverflow?: 'drop-oldest' | 'drop-new';
  /** A connection whose handshake is not complete after this long is closed. Default 5000. */
  handshakeTimeoutMs?: number;
  /** First reconnect delay. Default 50. */
  reconnectBaseMs?: number;
  /**
   * Reconnect delay cap. Default 1000: a member whose link to a peer is down counts as down to
   * that peer, so a link must come back soon after the network does (etcd redials every 100 ms).
   * An inbound connection from the peer ends the backoff at once.
   */
  reconnectMaxMs?: number;
  /**
   * Concurrent inbound client connections. Default 1024. When they are all taken, a new client
   * takes the place of the one idle longest (nothing in flight; it reconnects on its next call):
   * idle connections cannot lock clients out. Known members get room on top (two connections
   * each), so clients cannot lock a member out either.
   */
  maxInboundConnections?: number;
  /**
   * Connections still in their handshake (not yet a peer or a client). Default 128. Beyond it the
   * oldest one that has had a second to handshake is closed, so a flood of connections that never
   * handshake cannot keep members and clients out (a burst of legitimate connects is not cut).
   */
  maxHandshakingConnections?: number;
  /**
   * Bytes the socket may hold unsent toward a client that does not read its replies; beyond this
   * the client connection is closed. Default 64 MiB.
   */
  maxClientWriteBufferBytes?: number;
  /**
   * Above this many unsent reply bytes, or `maxClientInflight` requests in progress, the member
   * stops reading that client's requests until it catches up (TCP back-pressure). Default 4 MiB.
   */
  clientReplyHighWaterBytes?: number;
  /**
   * Requests of one client connection in progress (server-side lock and barrier waits included)
   * before its reading pauses. Default 4096.
   */
  maxClientInflight?: number;
  /**
   * Unsent reply bytes toward all clients together; above it the client holding the most is
   * closed. Default 256 MiB.
   */
  maxClientWriteBufferTotalBytes?: number;
  /**
   * After the handshake, a partially received frame must make progress (some frame completes)
   * within this long, or the connection is closed (post-handshake slow-loris). Default 30000.
   */
  frameTimeoutMs?: number;
  /**
   * Cap on the bytes held by all inbound decoders together; the connection that pushes the total
   * over it is closed. Default 256 MiB.
   */
  maxInboundBufferedBytes?: number;
}

/** Options of {@link createTcpNetwork}. */
export interface TcpNetworkOptions {
  nodeId: string;
  clusterId: string;
  listen: { host: string; port: number };
  /** Peer id -> 'host:port'. May include this node's own id (ignored for connecting). */
  peers: Record<string, string>;
  tls?: TransportTlsOptions;
  logger?: TransportLogger;
  limits?: TransportLimits;
  /** Randomness for reconnect jitter, in [0, 1). Default Math.random. */
  random?: () => number;
  /**
   * Once listening, dial every peer once to announce this member (default true). False for a
   * member its peers do not know yet (started to join): they would refuse its handshakes.
   */
  announce?: boolean;
}

/** Per-peer view in {@link TransportMetrics}. */
export interface PeerMetrics {
  address: string;
  connected: boolean;
  queuedFrames: number;
  queuedBytes: number;
  droppedFrames: number;
  reconnects: number;
}

/** Counters and gauges of one network instance (all counters start at 0 and only grow). */
export interface TransportMetrics {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  /** Frames dropped by this node: queue overflow, oversize, unknown peer, closed. */
  droppedFrames: number;
  /** Handshakes refused, by this node or (for its outbound connections) by the remote. */
  rejectedHandshakes: number;
  rejectedByReason: Partial<Record<HandshakeRejectReason, number>>;
  /** Connections closed because of bytes that broke framing or the envelope. */
  malformedFrames: number;
  handshakeTimeouts: number;
  /** Connections closed because a partial frame made no progress within frameTimeoutMs. */
  frameTimeouts: number;
  /** Connections closed because the inbound buffer budget or the clients' reply budget was exceeded. */
  overloadCloses: number;
  /** Idle client connections closed to make room for a new client (all slots were taken). */
  idleClientsEvicted: number;
  connectionsAccepted: number;
  connectionsOpened: number;
  /** Gauges. */
  activeInbound: number;
  activeClients: number;
  activeOutbound: number;
  /** Bytes held by all inbound decoders right now (bounded by the limits). */
  inboundBufferedBytes: number;
  /** Reply bytes waiting to be sent to clients (bounded by maxClientWriteBufferTotalBytes). */
  clientUnsentBytes: number;
  clientRequests: number;
  peers: Record<string, PeerMetrics>;
}

/** Observable transport events (for logs, metrics and tests that wait on them). */
export type TransportEvent =
  | { type: 'listening'; port: number }
  | { type: 'peer-connected'; peer: string; direction: 'inbound' | 'outbound' }
  | { type: 'peer-disconnected'; peer: string; direction: 'inbound' | 'outbound'; reason: string }
  | { type: 'client-connected'; clientId: string }
  | { type: 'client-disconnected'; clientId: string; reason: string }
  | {
      type: 'handshake-rejected';
      direction: 'inbound' | 'outbound';
      reason: HandshakeRejectReason;
      remote: string;
      message: string;
    }
  | { type: 'malformed'; direction: 'inbound' | 'outbound'; remote: string; message: string }
  | { type: 'dropped'; peer: string; reason: 'queue-full' | 'oversize' | 'unknown-peer' | 'closed' }
  | { type: 'connection-closed'; direction: 'inbound' | 'outbound'; remote: string; reason: string };

/**
 * Handler for client requests; call `reply` at most once (later calls are ignored). Return `false`
 * when the request is malformed: a reply given before that is still sent, then the connection is
 * closed and counted in `malformedFrames`.
 */
export type ClientRequestHandler = (
  clientId: string,
  frame: Uint8Array,
  reply: (frame: Uint8Array) => void,
) => unknown;

/**
 * The network a node runs on: the contract's {@link Network} plus lifecycle and metrics.
 * `send` does not copy the frame (do not mutate it afterwards) and batches the frames of one tick
 * into one write. Received frames may be views into a larger receive buffer: copy one that is
 * retained for long.
 */
export interface TcpNetwork extends Network {
  /** Starts listening; resolves with the bound port (useful with port 0). */
  start(): Promise<{ port: number }>;
  /** Stops listening, closes every connection and timer; queued frames are dropped. */
  close(): Promise<void>;
  metrics(): TransportMetrics;
  /** Writes the frames `send` queued to connected peers now, not in this tick's microtask. */
  flush(): void;
  /** Replaces the peer address map (membership change); removed peers are disconnected. */
  setPeers(peers: Record<string, string>): void;
  onClientRequest(handler: ClientRequestHandler): void;
  /** Subscribes to transport events; returns an unsubscribe function. */
  onEvent(listener: (event: TransportEvent) => void): () => void;
  /**
   * Replaces the TLS key, certificate and CA (certificate rotation without a restart): every
   * handshake from now on, inbound and outbound, uses them; established connections keep theirs
   * (as etcd does). Throws a TransportError `tls-config` (nothing changed) when node:tls refuses
   * the material (unreadable PEM, a key that does not match the certificate) or when the network
   * was created without TLS (turning TLS on or off needs a restart). Returns who the new
   * certificate names and when it expires (for the operator's log).
   */
  reloadTls(material: Pick<TransportTlsOptions, 'key' | 'cert' | 'ca'>): TlsCertificateSummary;
}

/** The identity a TLS certificate carries, as `reloadTls` reports it. */
export interface TlsCertificateSummary {
  subject: string;
  issuer: string;
  /** Expiry, as node:crypto prints it (e.g. `Nov 29 08:00:00 2027 GMT`). */
  validTo: string;
}

/** Options of {@link createTcpClientConnection}. */
export interface TcpClientOptions {
  /** 'host:port' of a node. */
  endpoint: string;
  /** When set, a node of another cluster refuses the connection (and the client checks the ACK). */
  clusterId?: string;
  /** Client id sent in the handshake. Default: a random id. */
  clientId?: string;
  tls?: TransportTlsOptions;
  limits?: Pick<TransportLimits, 'maxFrameBytes' | 'handshakeTimeoutMs'>;
  /**
   * Liveness of a connection with requests in flight: once nothing has arrived for `idleMs`, a
   * `probe()` request (one the member answers at once, such as a status request) is sent; no
   * answer within `timeoutMs` drops the connection, failing its requests with `connection-lost`
   * (`sent: true`). Without it a request waits for its own timeout however dead the link.
   */
  liveness?: { idleMs: number; timeoutMs: number; probe: () => Uint8Array };
}

/** Per-request options. */
export interface RequestOptions {
  signal?: AbortSignal;
  /** Deadline for the reply. Default 10000 ms. */
  timeoutMs?: number;
}

/** A client connection multiplexing concurrent requests by request id. */
export interface TcpClientConnection {
  readonly clientId: string;
  /**
   * The id of the member behind the endpoint, from the ACK of the last completed handshake; null
   * before one completes. It can change on reconnect (the endpoint may front another member).
   */
  readonly memberId: string | null;
  /** Connects (if not connected) and completes the handshake. */
  connect(): Promise<void>;
  /**
   * Sends one request frame and resolves with the reply frame. Rejects with a TransportError:
   * `timeout`/`connection-lost` with `sent: true` mean the outcome is unknown.
   */
  request(frame: Uint8Array, opts?: RequestOptions): Promise<Uint8Array>;
  /** Closes the connection; pending requests reject with `closed`. */
  close(): Promise<void>;
}
