/**
 * The TCP implementation of the contract's `Network`: fire-and-forget frames between node ids over
 * one lazily opened outbound connection per peer, plus the client channel on the same port.
 *
 * Invariants:
 * - Memory is bounded: per-peer send queues are bounded (frames and bytes, overflow counted as
 *   drops); we stop writing when `socket.write` returns false and resume on 'drain'; inbound
 *   decoders hold only received bytes, at most one maximum-size frame per connection, and at most
 *   MAX_HANDSHAKE_BYTES before the handshake completes.
 * - Hostile input only ever closes the offending connection and bumps a metric; handler exceptions
 *   are caught and logged. The node keeps serving.
 * - Each direction uses its own connection: frames to P go on our outbound connection to P, frames
 *   from P arrive on P's outbound connection to us, identified by P's handshake.
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { type HandshakeRejectReason, TransportError } from './errors.js';
import {
  COALESCE_MAX_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  frameHeader,
  writeChunks,
} from './framing.js';
import {
  decodeAck,
  decodeHello,
  encodeAck,
  encodeHello,
  MAX_HANDSHAKE_BYTES,
  PROTOCOL_VERSION,
} from './handshake.js';
import { type Endpoint, openSocket, parseEndpoint, silentLogger } from './socket-util.js';
import { certificateNames, describeTlsProblem, tlsMaterialProblem } from './tls-material.js';
import type {
  ClientRequestHandler,
  PeerMetrics,
  TcpNetwork,
  TcpNetworkOptions,
  TransportEvent,
  TransportLogger,
  TransportMetrics,
  TransportTlsOptions,
} from './types.js';

/**
 * A connection in its handshake is closed to make room (maxHandshakingConnections) only once it is
 * this old: a legitimate HELLO arrives within a round trip, even in a burst of connects.
 */
const HANDSHAKE_EVICTION_MIN_AGE_MS = 1000;

/** Resolved limits (every field set). */
interface Limits {
  maxFrameBytes: number;
  maxQueueFrames: number;
  maxQueueBytes: number;
  queueOverflow: 'drop-oldest' | 'drop-new';
  handshakeTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  maxInboundConnections: number;
  maxHandshakingConnections: number;
  maxClientWriteBufferBytes: number;
  clientReplyHighWaterBytes: number;
  maxClientInflight: number;
  maxClientWriteBufferTotalBytes: number;
  frameTimeoutMs: number;
  maxInboundBufferedBytes: number;
}

/** One accepted connection (a peer, a client, or not yet identified). */
interface Inbound {
  socket: net.Socket;
  decoder: FrameDecoder;
  state: 'handshake' | 'peer' | 'client' | 'closed';
  id: string;
  remote: string;
  timer: NodeJS.Timeout | undefined;
  /** This connection's share of the global inbound buffered-bytes total. */
  accounted: number;
  /** Frames completed so far (the partial-frame timer checks for progress). */
  framesDone: number;
  frameTimer: NodeJS.Timeout | undefined;
  /** Client replies of the current tick, written together (one writev) by `flushReplies`. */
  replies: Uint8Array[];
  /** Client requests handed to the handler and not yet answered. */
  inflight: number;
  /** When a frame last arrived or a reply left (performance.now()). */
  lastActive: number;
  /** Unsent reply bytes as last measured (this connection's share of the clients' total). */
  unsent: number;
  /** Reading paused for back-pressure (see `clientReplyHighWaterBytes`). */
  paused: boolean;
}

/** Our outbound side toward one peer. */
interface Peer {
  id: string;
  address: string;
  endpoint: Endpoint | null;
  queue: Uint8Array[];
  head: number;
  queuedBytes: number;
  state: 'idle' | 'connecting' | 'ready' | 'backoff';
  socket: net.Socket | undefined;
  decoder: FrameDecoder | undefined;
  timer: NodeJS.Timeout | undefined;
  attempt: number;
  waitingDrain: boolean;
  flushScheduled: boolean;
  dropped: number;
  reconnects: number;
  /** Set once the peer was removed: nothing may reconnect it. */
  removed: boolean;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential from `baseMs`, capped at `maxMs`,
 * with "equal jitter" (between half and all of it) so a cluster restarting together does not
 * reconnect in lockstep. `r` is a random number in [0, 1).
 */
export function reconnectDelay(attempt: number, baseMs: number, maxMs: number, r: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.round(exp * (0.5 + 0.5 * r)));
}

/** Fills in defaults and validates limits. */
export function resolveLimits(l: TcpNetworkOptions['limits'] = {}): Limits {
  const out: Limits = {
    maxFrameBytes: l.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    maxQueueFrames: l.maxQueueFrames ?? 1024,
    maxQueueBytes: l.maxQueueBytes ?? 64 * 1024 * 1024,
    queueOverflow: l.queueOverflow ?? 'drop-oldest',
    handshakeTimeoutMs: l.handshakeTimeoutMs ?? 5000,
    reconnectBaseMs: l.reconnectBaseMs ?? 50,
    reconnectMaxMs: l.reconnectMaxMs ?? 1000,
    maxInboundConnections: l.maxInboundConnections ?? 1024,
    maxHandshakingConnections: l.maxHandshakingConnections ?? 128,
    maxClientWriteBufferBytes: l.maxClientWriteBufferBytes ?? 64 * 1024 * 1024,
    clientReplyHighWaterBytes: l.clientReplyHighWaterBytes ?? 4 * 1024 * 1024,
    maxClientInflight: l.maxClientInflight ?? 4096,
    maxClientWriteBufferTotalBytes: l.maxClientWriteBufferTotalBytes ?? 256 * 1024 * 1024,
    frameTimeoutMs: l.frameTimeoutMs ?? 30_000,
    maxInboundBufferedBytes: l.maxInboundBufferedBytes ?? 256 * 1024 * 1024,
  };
  if (out.maxFrameBytes < 4 || out.maxFrameBytes > 0x7fffffff)
    throw new RangeError('maxFrameBytes out of range');
  if (out.maxQueueFrames < 1 || out.maxQueueBytes < 1) throw new RangeError('queue bounds must be positive');
  return out;
}

/**
 * Creates a TCP network for node `nodeId`. Nothing happens until `start()` (listening, after
 * which it dials every peer once to announce itself) or the first `send`.
 */
export function createTcpNetwork(options: TcpNetworkOptions): TcpNetwork {
  const { nodeId, clusterId } = options;
  const limits = resolveLimits(options.limits);
  const log: TransportLogger = options.logger ?? silentLogger;
  // Warnings caused by remote input are rate limited: an attacker must not flood the logs.
  const warnBudget = { tokens: 20, refilledAt: performance.now(), suppressed: 0 };
  function warnRemote(obj: object, msg: string): void {
    const now = performance.now();
    warnBudget.tokens = Math.min(20, warnBudget.tokens + ((now - warnBudget.refilledAt) / 1000) * 10);
    warnBudget.refilledAt = now;
    if (warnBudget.tokens < 1) {
      warnBudget.suppressed++;
      return;
    }
    warnBudget.tokens--;
    const suppressed = warnBudget.suppressed;
    warnBudget.suppressed = 0;
    log.warn(suppressed > 0 ? { ...obj, suppressed } : obj, msg);
  }
  const random = options.random ?? Math.random;
  // Typed as the contract's `=> void`; a handler's `false` still marks a frame malformed.
  const handlers: Array<(from: string, frame: Uint8Array) => unknown> = [];
  let clientHandler: ClientRequestHandler | undefined;
  const listeners = new Set<(e: TransportEvent) => void>();
  const inbound = new Set<Inbound>();
  const peers = new Map<string, Peer>();
  /** Outbound sockets whose refusal was already counted (so their close is not counted again). */
  const refusedSockets = new WeakSet<net.Socket>();
  const rawSockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let closed = false;
  /** The TLS material of the next handshakes (replaced by `reloadTls`; undefined: plain TCP). */
  let tlsMaterial: TransportTlsOptions | undefined = options.tls;
  /** Sum of bytes held by all inbound decoders (kept below limits.maxInboundBufferedBytes). */
  let inboundBuffered = 0;
  /** Sum of the clients' `unsent` (kept below limits.maxClientWriteBufferTotalBytes). */
  let clientUnsent = 0;

  const m = {
    bytesIn: 0,
    bytesOut: 0,
    framesIn: 0,
    framesOut: 0,
    droppedFrames: 0,
    rejectedHandshakes: 0,
    rejectedByReason: {} as Partial<Record<HandshakeRejectReason, number>>,
    malformedFrames: 0,
    handshakeTimeouts: 0,
    frameTimeouts: 0,
    overloadCloses: 0,
    idleClientsEvicted: 0,
    connectionsAccepted: 0,
    connectionsOpened: 0,
    clientRequests: 0,
  };

  function emit(e: TransportEvent): void {
    for (const l of listeners) {
      try {
        l(e);
      } catch (err) {
        log.error({ err }, 'transport event listener threw');
      }
    }
  }

  function countRejection(
    direction: 'inbound' | 'outbound',
    reason: HandshakeRejectReason,
    remote: string,
    message: string,
  ): void {
    m.rejectedHandshakes++;
    m.rejectedByReason[reason] = (m.rejectedByReason[reason] ?? 0) + 1;
    warnRemote({ direction, reason, remote, nodeId, clusterId }, `handshake refused: ${message}`);
    emit({ type: 'handshake-rejected', direction, reason, remote, message });
  }

  /** Hands a peer frame to the handlers; false when one of them found it malformed. */
  function deliver(from: string, frame: Uint8Array): boolean {
    m.framesIn++;
    let wellFormed = true;
    for (const h of handlers) {
      try {
        if (h(from, frame) === false) wellFormed = false;
      } catch (err) {
        log.error({ err, from }, 'network receive handler threw');
      }
    }
    return wellFormed;
  }

  function countMalformed(c: Inbound, message: string): void {
    m.malformedFrames++;
    emit({ type: 'malformed', direction: 'inbound', remote: c.remote, message });
  }

  /** A frame too large, or one that passed the framing but not its decoder: the stream is not trusted further. */
  function closeMalformed(c: Inbound, message: string): void {
    countMalformed(c, message);
    warnRemote({ remote: c.remote, peer: c.id, err: message }, 'closing connection: malformed frame');
    closeInbound(c, 'malformed frame');
  }

  function drop(peer: string, reason: 'queue-full' | 'oversize' | 'unknown-peer' | 'closed', p?: Peer): void {
    m.droppedFrames++;
    if (p) p.dropped++;
    emit({ type: 'dropped', peer, reason });
  }

  // ---------------------------------------------------------------- inbound side

  function remoteOf(socket: net.Socket): string {
    return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  }

  /** Stops the timers of a closing connection and returns its buffered bytes to the budget. */
  function release(c: Inbound): void {
    if (c.timer) clearTimeout(c.timer);
    if (c.frameTimer) clearTimeout(c.frameTimer);
    c.timer = undefined;
    c.frameTimer = undefined;
    inboundBuffered -= c.accounted;
    c.accounted = 0;
    clientUnsent -= c.unsent;
    c.unsent = 0;
  }

  /**
   * A partially received frame must complete within frameTimeoutMs (a post-handshake slow-loris
   * holds a slot and up to one frame of memory otherwise). Checks progress, not idleness.
   */
  function armFrameTimer(c: Inbound): void {
    if (c.frameTimer || c.state === 'closed' || c.state === 'handshake' || c.decoder.bufferedBytes === 0)
      return;
    const done = c.framesDone;
    c.frameTimer = setTimeout(() => {
      c.frameTimer = undefined;
      // Paused for back-pressure: we are the ones not reading (re-armed on resume).
      if (c.state === 'closed' || c.decoder.bufferedBytes === 0 || c.paused) return;
      if (c.framesDone === done) {
        m.frameTimeouts++;
        warnRemote(
          { remote: c.remote, id: c.id },
          `closing connection: frame incomplete after ${limits.frameTimeoutMs} ms`,
        );
        closeInbound(c, 'frame timeout');
      } else armFrameTimer(c);
    }, limits.frameTimeoutMs);
  }

  function closeInbound(c: Inbound, reason: string): void {
    if (c.state === 'closed') return;
    const was = c.state;
    c.state = 'closed';
    release(c);
    c.socket.destroy();
    if (was === 'peer') emit({ type: 'peer-disconnected', peer: c.id, direction: 'inbound', reason });
    else if (was === 'client') emit({ type: 'client-disconnected', clientId: c.id, reason });
    emit({ type: 'connection-closed', direction: 'inbound', remote: c.remote, reason });
  }

  /** Refuses a handshake: ACK with the reason when the sender speaks our format, then close. */
  function refuseInbound(c: Inbound, reason: HandshakeRejectReason, message: string, sendAck: boolean): void {
    countRejection('inbound', reason, c.remote, message);
    if (!sendAck || c.state === 'closed') {
      closeInbound(c, `handshake refused: ${reason}`);
      return;
    }
    c.state = 'closed';
    release(c);
    const ack = encodeFrame(encodeAck({ rejected: reason, clusterId, responderId: nodeId, message }));
    m.bytesOut += ack.length;
    // Give the ACK a moment to leave, but never let the refused socket linger.
    const kill = setTimeout(() => c.socket.destroy(), 1000);
    kill.unref();
    c.socket.end(ack, () => {
      clearTimeout(kill);
      c.socket.destroy();
    });
    emit({
      type: 'connection-closed',
      direction: 'inbound',
      remote: c.remote,
      reason: `handshake refused: ${reason}`,
    });
  }

  /** Why a well-formed HELLO is refused, or null to accept it. */
  function checkHello(hello: ReturnType<typeof decodeHello>): [HandshakeRejectReason, string] | null {
    if (hello.kind === 'peer') {
      if (hello.clusterId !== clusterId)
        return ['cluster', `peer '${hello.senderId}' is in cluster '${hello.clusterId}', not '${clusterId}'`];
      if (hello.senderId === nodeId) return ['self', `peer claims our own id '${nodeId}'`];
      if (hello.receiverId !== '' && hello.receiverId !== nodeId)
        return ['receiver', `peer meant to reach '${hello.receiverId}', this is '${nodeId}'`];
      // Only members we know may speak Raft to us. A member that knows nobody yet (started with
      // --join, waiting for the leader to reach it) accepts any id of its cluster.
      if (peers.size > 0 && !peers.has(hello.senderId))
        return [
          'unknown-peer',
          `'${hello.senderId}' is not a member known to '${nodeId}' (known: ${[...peers.keys()].join(', ')})`,
        ];
    } else if (hello.clusterId !== '' && hello.clusterId !== clusterId) {
      return [
        'cluster',
        `client '${hello.senderId}' expects cluster '${hello.clusterId}', this is '${clusterId}'`,
      ];
    }
    return null;
  }

  /** The names in the certificate the remote end of `socket` presented (TLS only). */
  function peerCertificateNames(socket: net.Socket): string[] {
    const cert = (socket as tls.TLSSocket).getPeerCertificate?.();
    const cn = cert?.subject?.CN;
    return certificateNames(cn === undefined ? [] : [cn].flat().map(String), cert?.subjectaltname);
  }

  /** With `tls.requirePeerIdInCertificate`: the peer's certificate must name the id it claims. */
  function checkCertificateId(
    c: Inbound,
    hello: ReturnType<typeof decodeHello>,
  ): [HandshakeRejectReason, string] | null {
    if (hello.kind !== 'peer' || !tlsMaterial?.requirePeerIdInCertificate) return null;
    const names = peerCertificateNames(c.socket);
    if (names.includes(hello.senderId)) return null;
    return [
      'tls',
      `peer claims id '${hello.senderId}' but its certificate names ${names.length > 0 ? names.join(', ') : 'nothing'}`,
    ];
  }

  function onHello(c: Inbound, frame: Uint8Array): void {
    let hello: ReturnType<typeof decodeHello>;
    try {
      hello = decodeHello(frame);
    } catch (err) {
      const reason = err instanceof TransportError && err.reason ? err.reason : 'malformed';
      if (reason === 'malformed' || reason === 'bad-magic') m.malformedFrames++;
      // Answer in our format only when the sender used our magic (a version mismatch, say).
      refuseInbound(c, reason, (err as Error).message, reason === 'version' || reason === 'kind');
      return;
    }
    const refusal =
      checkHello(hello) ??
      checkCertificateId(c, hello) ??
      (hello.kind === 'client' && !clientSlotFor(c)
        ? (['too-many-connections', 'too many client connections'] as [HandshakeRejectReason, string])
        : null);
    if (refusal) {
      refuseInbound(c, refusal[0], refusal[1], true);
      return;
    }
    if (c.timer) clearTimeout(c.timer);
    c.timer = undefined;
    c.id = hello.senderId;
    c.state = hello.kind;
    c.decoder.setMaxFrameBytes(limits.maxFrameBytes);
    const ack = encodeFrame(encodeAck({ rejected: null, clusterId, responderId: nodeId, message: '' }));
    m.bytesOut += ack.length;
    c.socket.write(ack);
    if (hello.kind === 'peer') {
      log.info({ peer: hello.senderId, remote: c.remote }, 'inbound peer connected');
      emit({ type: 'peer-connected', peer: hello.senderId, direction: 'inbound' });
      // The peer just reached us: the path back is likely healed too (a cable plugged back in,
      // the peer restarted). Dial now rather than at the end of a backoff grown while it was away.
      const p = peers.get(hello.senderId);
      if (p?.state === 'backoff') {
        if (p.timer) clearTimeout(p.timer);
        p.attempt = 0;
        redial(p);
      }
    } else {
      emit({ type: 'client-connected', clientId: hello.senderId });
    }
  }

  /**
   * Whether a client may join: below maxInboundConnections clients, or by taking the place of
   * the client idle longest (nothing in flight; it reconnects on its next call). Only when every
   * client has a request in progress is the newcomer refused.
   */
  function clientSlotFor(newcomer: Inbound): boolean {
    let clients = 0;
    let idlest: Inbound | undefined;
    for (const o of inbound) {
      if (o.state !== 'client') continue;
      clients++;
      if (o.inflight === 0 && (!idlest || o.lastActive < idlest.lastActive)) idlest = o;
    }
    if (clients < limits.maxInboundConnections) return true;
    if (!idlest) return false;
    m.idleClientsEvicted++;
    warnRemote(
      { remote: idlest.remote, id: idlest.id, newcomer: newcomer.remote },
      'client connections full: closing the one idle longest',
    );
    closeInbound(idlest, 'evicted: idle while client connections were full');
    return true;
  }

  /**
   * Back-pressure toward one client: stop reading its requests while its unsent replies are above
   * the high-water mark or too many of its requests are in progress; read again once below.
   */
  function updateClientFlow(c: Inbound): void {
    if (c.state !== 'client') return;
    const busy =
      c.socket.writableLength > limits.clientReplyHighWaterBytes || c.inflight >= limits.maxClientInflight;
    if (busy && !c.paused) {
      c.paused = true;
      c.socket.pause();
    } else if (!busy && c.paused) {
      c.paused = false;
      c.socket.resume();
      // A partial frame waited while we did not read: its progress is counted from now.
      if (c.frameTimer) clearTimeout(c.frameTimer);
      c.frameTimer = undefined;
      armFrameTimer(c);
    }
  }

  /** Re-measures `c`'s unsent reply bytes into the clients' total. */
  function measureUnsent(c: Inbound): void {
    const now = c.state === 'client' ? c.socket.writableLength : 0;
    clientUnsent += now - c.unsent;
    c.unsent = now;
  }

  function onClientFrame(c: Inbound, frame: Uint8Array): void {
    if (frame.length < 4) {
      m.malformedFrames++;
      emit({
        type: 'malformed',
        direction: 'inbound',
        remote: c.remote,
        message: 'client envelope too short',
      });
      closeInbound(c, 'malformed client envelope');
      return;
    }
    m.clientRequests++;
    const requestId = Buffer.from(frame.buffer, frame.byteOffset, 4).readUInt32BE(0);
    const payload = frame.subarray(4);
    let replied = false;
    c.lastActive = performance.now();
    const reply = (resp: Uint8Array): void => {
      if (replied || c.state !== 'client') return;
      replied = true;
      c.inflight--;
      c.lastActive = performance.now();
      if (resp.length + 4 > limits.maxFrameBytes) {
        drop(`client:${c.id}`, 'oversize');
        updateClientFlow(c);
        return;
      }
      const head = Buffer.allocUnsafe(8);
      head.writeUInt32BE(resp.length + 4, 0);
      head.writeUInt32BE(requestId, 4);
      // Replies completed in the same tick (a Ready commits many proposals at once) leave in one
      // writev: a syscall per reply was the leader's largest cost under load.
      if (c.replies.length === 0) queueMicrotask(() => flushReplies(c));
      c.replies.push(head, resp);
      m.bytesOut += 8 + resp.length;
    };
    if (!clientHandler) return;
    c.inflight++;
    let wellFormed: unknown = true;
    try {
      wellFormed = clientHandler(c.id, payload, reply);
    } catch (err) {
      log.error({ err, clientId: c.id }, 'client request handler threw');
    }
    if (wellFormed === false) {
      flushReplies(c); // the handler's error reply leaves before the connection closes
      closeMalformed(c, 'undecodable client request');
      return;
    }
    updateClientFlow(c);
  }

  function flushReplies(c: Inbound): void {
    const replies = c.replies;
    c.replies = [];
    if (c.state !== 'client') return;
    writeChunks(c.socket, replies);
    // A client that does not read its replies must not make us buffer without bound.
    if (c.socket.writableLength > limits.maxClientWriteBufferBytes) {
      closeInbound(c, 'client not reading replies');
      return;
    }
    measureUnsent(c);
    if (clientUnsent > limits.maxClientWriteBufferTotalBytes) closeLargestReader();
    updateClientFlow(c);
  }

  /** The clients' unsent replies are over their total budget: close the client holding the most. */
  function closeLargestReader(): void {
    let largest: Inbound | undefined;
    for (const o of inbound) if (o.state === 'client' && (!largest || o.unsent > largest.unsent)) largest = o;
    if (!largest) return;
    m.overloadCloses++;
    warnRemote(
      { remote: largest.remote, id: largest.id, unsent: largest.unsent, clientUnsent },
      'closing client connection: unsent replies to all clients over budget',
    );
    closeInbound(largest, 'client not reading replies (total reply budget)');
  }

  function onInboundData(c: Inbound, chunk: Buffer): void {
    if (c.state === 'closed') return;
    m.bytesIn += chunk.length;
    c.decoder.append(chunk);
    for (;;) {
      let frame: Uint8Array | null;
      try {
        frame = c.decoder.next();
      } catch (err) {
        const message = (err as Error).message;
        if (c.state !== 'handshake') closeMalformed(c, message);
        else {
          countMalformed(c, message);
          refuseInbound(c, 'frame-too-large', message, false);
        }
        return;
      }
      if (frame === null) break;
      c.framesDone++;
      if (c.state === 'handshake') onHello(c, frame);
      else if (c.state === 'peer') {
        if (!deliver(c.id, frame)) closeMalformed(c, 'undecodable peer message');
      } else if (c.state === 'client') onClientFrame(c, frame);
      if ((c.state as Inbound['state']) === 'closed') return;
    }
    // Global budget: many connections each holding part of a large frame must not add up without
    // bound; the connection that pushes the total over the cap is the one closed.
    inboundBuffered += c.decoder.bufferedBytes - c.accounted;
    c.accounted = c.decoder.bufferedBytes;
    if (inboundBuffered > limits.maxInboundBufferedBytes) {
      m.overloadCloses++;
      warnRemote(
        { remote: c.remote, id: c.id, inboundBuffered },
        'closing connection: inbound buffer budget exceeded',
      );
      closeInbound(c, 'inbound buffer budget exceeded');
      return;
    }
    armFrameTimer(c);
  }

  function onConnection(socket: net.Socket): void {
    const c: Inbound = {
      socket,
      decoder: new FrameDecoder(MAX_HANDSHAKE_BYTES),
      state: 'handshake',
      id: '',
      remote: remoteOf(socket),
      timer: undefined,
      accounted: 0,
      framesDone: 0,
      frameTimer: undefined,
      replies: [],
      inflight: 0,
      lastActive: performance.now(),
      unsent: 0,
      paused: false,
    };
    socket.on('drain', () => {
      measureUnsent(c);
      updateClientFlow(c);
    });
    socket.on('error', (err) => log.debug({ err: err.message, remote: c.remote }, 'inbound socket error'));
    socket.on('close', () => {
      inbound.delete(c);
      closeInbound(c, 'closed by remote');
    });
    if (closed) {
      socket.destroy();
      return;
    }
    m.connectionsAccepted++;
    inbound.add(c);
    // Connections that never handshake must not keep anyone out: past the budget, the oldest of
    // them goes (a member or client completes its handshake within a round trip).
    // Only one that has had time to handshake: in a burst of legitimate connects, Node accepts
    // them all before reading any HELLO (a review saw 177 of 500 closed unread otherwise).
    let handshaking = 0;
    let oldest: Inbound | undefined;
    const now = performance.now();
    for (const o of inbound) {
      if (o.state !== 'handshake') continue;
      handshaking++;
      if (!oldest && now - o.lastActive >= HANDSHAKE_EVICTION_MIN_AGE_MS) oldest = o; // insertion order
    }
    if (handshaking > limits.maxHandshakingConnections && oldest) {
      m.handshakeTimeouts++;
      refuseInbound(oldest, 'timeout', 'too many connections in handshake: closing the oldest', false);
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    c.timer = setTimeout(() => {
      if (c.state !== 'handshake') return;
      m.handshakeTimeouts++;
      refuseInbound(c, 'timeout', `handshake not complete after ${limits.handshakeTimeoutMs} ms`, false);
    }, limits.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => onInboundData(c, chunk));
  }

  // ---------------------------------------------------------------- outbound side

  function newPeer(id: string, address: string): Peer {
    let endpoint: Endpoint | null = null;
    try {
      endpoint = parseEndpoint(address);
    } catch {
      log.error({ peer: id, address }, 'bad peer address; frames to it are dropped');
    }
    return {
      id,
      address,
      endpoint,
      queue: [],
      head: 0,
      queuedBytes: 0,
      state: 'idle',
      socket: undefined,
      decoder: undefined,
      timer: undefined,
      attempt: 0,
      waitingDrain: false,
      flushScheduled: false,
      dropped: 0,
      reconnects: 0,
      removed: false,
    };
  }

  function queueLength(p: Peer): number {
    return p.queue.length - p.head;
  }

  function dequeue(p: Peer): Uint8Array | undefined {
    if (p.head >= p.queue.length) return undefined;
    const f = p.queue[p.head]!;
    p.queue[p.head] = undefined as unknown as Uint8Array; // release the reference
    p.head++;
    p.queuedBytes -= f.length;
    if (p.head === p.queue.length) {
      p.queue = [];
      p.head = 0;
    } else if (p.head > 1024 && p.head * 2 > p.queue.length) {
      p.queue = p.queue.slice(p.head);
      p.head = 0;
    }
    return f;
  }

  function clearQueue(p: Peer): void {
    for (let f = dequeue(p); f !== undefined; f = dequeue(p)) drop(p.id, 'closed', p);
  }

  function enqueue(p: Peer, frame: Uint8Array): void {
    if (limits.queueOverflow === 'drop-new') {
      if (queueLength(p) >= limits.maxQueueFrames || p.queuedBytes + frame.length > limits.maxQueueBytes) {
        drop(p.id, 'queue-full', p);
        return;
      }
    } else {
      while (
        queueLength(p) > 0 &&
        (queueLength(p) >= limits.maxQueueFrames || p.queuedBytes + frame.length > limits.maxQueueBytes)
      ) {
        dequeue(p);
        drop(p.id, 'queue-full', p);
      }
    }
    p.queue.push(frame);
    p.queuedBytes += frame.length;
  }

  /**
   * Writes queued frames until the socket reports backpressure: the frames of one tick leave
   * together (see `writeQueued`); after `write` returns false we wait for 'drain'.
   */
  function flush(p: Peer): void {
    p.flushScheduled = false;
    const s = p.socket;
    if (p.state !== 'ready' || !s || p.waitingDrain) return;
    while (queueLength(p) > 0) {
      if (writeQueued(p, s)) continue;
      p.waitingDrain = true;
      s.once('drain', () => {
        p.waitingDrain = false;
        if (p.socket === s) flush(p);
      });
      return;
    }
  }

  /**
   * Writes the next queued frames (the queue is not empty): as many as fit in COALESCE_MAX_BYTES
   * framed into one buffer and one `write`, or a larger frame alone, its header and payload corked.
   * Returns `write`'s result.
   */
  function writeQueued(p: Peer, s: net.Socket): boolean {
    const first = p.queue[p.head] as Uint8Array;
    if (FRAME_HEADER_BYTES + first.length > COALESCE_MAX_BYTES) {
      dequeue(p);
      m.bytesOut += FRAME_HEADER_BYTES + first.length;
      m.framesOut++;
      return writeChunks(s, [frameHeader(first.length), first]);
    }
    let total = 0;
    let n = 0;
    for (let i = p.head; i < p.queue.length; i++) {
      const size = FRAME_HEADER_BYTES + (p.queue[i] as Uint8Array).length;
      if (total + size > COALESCE_MAX_BYTES) break;
      total += size;
      n++;
    }
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (let k = 0; k < n; k++) {
      const f = dequeue(p) as Uint8Array;
      out.writeUInt32BE(f.length, at);
      out.set(f, at + FRAME_HEADER_BYTES);
      at += FRAME_HEADER_BYTES + f.length;
    }
    m.bytesOut += total;
    m.framesOut += n;
    return s.write(out);
  }

  /** Batches every send of the current tick into one flush. */
  function scheduleFlush(p: Peer): void {
    if (p.flushScheduled) return;
    p.flushScheduled = true;
    queueMicrotask(() => {
      // Already written if `flush()` ran meanwhile.
      if (p.flushScheduled) flush(p);
    });
  }

  function scheduleReconnect(p: Peer): void {
    if (closed || p.removed) return;
    const delay = reconnectDelay(p.attempt, limits.reconnectBaseMs, limits.reconnectMaxMs, random());
    p.attempt++;
    p.state = 'backoff';
    p.timer = setTimeout(() => redial(p), delay);
  }

  /** Ends a backoff: dials `p` now if anything waits to be sent, else on the next send. */
  function redial(p: Peer): void {
    p.timer = undefined;
    if (closed || p.removed || p.state !== 'backoff') return;
    p.state = 'idle';
    if (queueLength(p) > 0) connect(p);
  }

  /** Tears down the current outbound socket of `p` (if any) without scheduling anything. */
  function dropSocket(p: Peer): net.Socket | undefined {
    const s = p.socket;
    p.socket = undefined;
    p.decoder = undefined;
    p.waitingDrain = false;
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    s?.destroy();
    return s;
  }

  function refuseOutbound(p: Peer, reason: HandshakeRejectReason, message: string): void {
    countRejection('outbound', reason, p.address, message);
    if (p.socket) refusedSockets.add(p.socket);
    p.socket?.destroy();
  }

  function onOutboundData(p: Peer, s: net.Socket, chunk: Buffer): void {
    if (p.socket !== s || !p.decoder) return;
    m.bytesIn += chunk.length;
    if (p.state === 'ready') {
      // The accepting side sends nothing after the ACK on a peer connection.
      m.malformedFrames++;
      emit({
        type: 'malformed',
        direction: 'outbound',
        remote: p.address,
        message: 'unexpected bytes after ACK',
      });
      s.destroy();
      return;
    }
    let frame: Uint8Array | null;
    try {
      p.decoder.append(chunk);
      frame = p.decoder.next();
    } catch (err) {
      m.malformedFrames++;
      refuseOutbound(p, 'frame-too-large', (err as Error).message);
      return;
    }
    if (frame === null) return;
    let ack: ReturnType<typeof decodeAck>;
    try {
      ack = decodeAck(frame);
    } catch (err) {
      m.malformedFrames++;
      refuseOutbound(p, (err instanceof TransportError && err.reason) || 'malformed', (err as Error).message);
      return;
    }
    const refusal: [HandshakeRejectReason, string] | null =
      ack.rejected !== null
        ? [ack.rejected, `refused by remote: ${ack.message}`]
        : ack.version !== PROTOCOL_VERSION
          ? ['version', `remote speaks version ${ack.version}`]
          : ack.clusterId !== clusterId
            ? ['cluster', `remote is in cluster '${ack.clusterId}'`]
            : ack.responderId !== p.id
              ? ['wrong-peer', `address ${p.address} is node '${ack.responderId}', not '${p.id}'`]
              : tlsMaterial?.requirePeerIdInCertificate && !peerCertificateNames(s).includes(p.id)
                ? [
                    'tls',
                    // Both directions bind the id to the certificate: a member holding another
                    // member's address must not be able to answer in its name.
                    `node at ${p.address} answers as '${p.id}' but its certificate names ${peerCertificateNames(s).join(', ') || 'nothing'}`,
                  ]
                : null;
    if (refusal) {
      refuseOutbound(p, refusal[0], refusal[1]);
      return;
    }
    if (p.decoder.bufferedBytes > 0) {
      m.malformedFrames++;
      s.destroy();
      return;
    }
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    p.state = 'ready';
    p.attempt = 0;
    log.info({ peer: p.id, address: p.address }, 'outbound peer connected');
    emit({ type: 'peer-connected', peer: p.id, direction: 'outbound' });
    flush(p);
  }

  function connect(p: Peer): void {
    if (closed || p.removed || !p.endpoint) return;
    p.state = 'connecting';
    m.connectionsOpened++;
    const hello = encodeFrame(encodeHello({ kind: 'peer', clusterId, senderId: nodeId, receiverId: p.id }));
    let secured = false;
    let tlsRefused = false;
    const s = openSocket(p.endpoint, tlsMaterial, () => {
      secured = true;
      if (p.socket !== s) return;
      s.setNoDelay(true);
      s.setKeepAlive(true, 10_000);
      m.bytesOut += hello.length;
      s.write(hello);
    });
    p.socket = s;
    p.decoder = new FrameDecoder(MAX_HANDSHAKE_BYTES);
    p.timer = setTimeout(() => {
      if (p.socket !== s || p.state !== 'connecting') return;
      m.handshakeTimeouts++;
      refuseOutbound(
        p,
        'timeout',
        `no handshake ACK from ${p.address} after ${limits.handshakeTimeoutMs} ms`,
      );
    }, limits.handshakeTimeoutMs);
    s.on('data', (chunk: Buffer) => onOutboundData(p, s, chunk));
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (
        tlsMaterial &&
        p.state === 'connecting' &&
        /SSL|CERT|ERR_TLS|UNABLE_TO_VERIFY|SIGNATURE/i.test(err.code ?? '')
      ) {
        tlsRefused = true;
        countRejection('outbound', 'tls', p.address, err.message);
      } else log.debug({ peer: p.id, err: err.message }, 'outbound socket error');
    });
    s.on('close', () => {
      if (p.socket !== s) return;
      // With TLS 1.3 our side completes its handshake before the server has checked our
      // certificate; a refusal then shows up only as a close before the ACK.
      if (tlsMaterial && secured && !tlsRefused && !refusedSockets.has(s) && p.state === 'connecting') {
        countRejection(
          'outbound',
          'tls',
          p.address,
          'closed before the handshake ACK (certificate refused?)',
        );
      }
      const wasReady = p.state === 'ready';
      dropSocket(p);
      if (wasReady) {
        p.reconnects++;
        emit({ type: 'peer-disconnected', peer: p.id, direction: 'outbound', reason: 'connection closed' });
      }
      emit({ type: 'connection-closed', direction: 'outbound', remote: p.address, reason: 'closed' });
      scheduleReconnect(p);
    });
  }

  // ---------------------------------------------------------------- peers map

  /** Set once this member accepts connections (see `announce`). */
  let listening = false;

  /**
   * Dials every peer not yet dialled, with nothing to send: the handshake tells it this member is
   * up (and reachable: it is listening), and it ends its backoff towards us (see the inbound
   * handshake). A member started after the others would otherwise hear from the leader only once
   * the leader's backoff to it ran out, or once its own election timer made it send something;
   * a member that started fresh waits for that first append before it votes as usual
   * (RaftConfig.freshBootstrap). Peers added later are dialled as they are added.
   */
  function announce(): void {
    if (options.announce === false) return;
    listening = true;
    for (const p of peers.values()) if (p.state === 'idle' && !closed) connect(p);
  }

  function setPeers(map: Record<string, string>): void {
    for (const [id, p] of peers) {
      if (map[id] === undefined || id === nodeId) {
        p.removed = true;
        dropSocket(p);
        clearQueue(p);
        peers.delete(id);
      }
    }
    for (const [id, address] of Object.entries(map)) {
      if (id === nodeId) continue;
      const existing = peers.get(id);
      if (existing && existing.address === address) continue;
      const p = newPeer(id, address);
      if (existing) {
        // Address changed: keep the queued frames, reconnect to the new address.
        existing.removed = true;
        dropSocket(existing);
        p.queue = existing.queue.slice(existing.head);
        p.queuedBytes = existing.queuedBytes;
      }
      peers.set(id, p);
      if (queueLength(p) > 0 || (listening && !existing)) connect(p);
    }
  }
  setPeers(options.peers);

  // ---------------------------------------------------------------- public surface

  return {
    send(to: string, frame: Uint8Array): void {
      if (closed) {
        drop(to, 'closed');
        return;
      }
      if (frame.length > limits.maxFrameBytes) {
        drop(to, 'oversize', peers.get(to));
        return;
      }
      if (to === nodeId) {
        // Loopback without a socket, still asynchronous like every other delivery.
        queueMicrotask(() => {
          if (!closed) deliver(nodeId, frame);
        });
        return;
      }
      const p = peers.get(to);
      if (!p?.endpoint) {
        drop(to, 'unknown-peer');
        return;
      }
      enqueue(p, frame);
      if (p.state === 'idle') connect(p);
      else if (p.state === 'ready') scheduleFlush(p);
    },

    onReceive(handler: (from: string, frame: Uint8Array) => void): void {
      handlers.push(handler);
    },

    flush(): void {
      for (const p of peers.values()) if (p.flushScheduled) flush(p);
    },

    onClientRequest(handler: ClientRequestHandler): void {
      clientHandler = handler;
    },

    onEvent(listener: (e: TransportEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    setPeers,

    reloadTls(material) {
      if (!tlsMaterial) {
        throw new TransportError(
          'tls-config',
          'this network was started without TLS; turning it on needs a restart',
        );
      }
      const next: TransportTlsOptions = {
        ...tlsMaterial,
        key: material.key,
        cert: material.cert,
        ca: material.ca,
      };
      // Every check before anything changes (tls-material.ts).
      const problem = tlsMaterialProblem(next, nodeId, Date.now());
      if (problem !== null)
        throw new TransportError('tls-config', `TLS material refused: ${describeTlsProblem(problem)}`);
      const cert = new X509Certificate(next.cert);
      try {
        if (server) (server as tls.Server).setSecureContext({ key: next.key, cert: next.cert, ca: next.ca });
      } catch (e) {
        throw new TransportError('tls-config', `TLS material refused: ${(e as Error).message}`, { cause: e });
      }
      tlsMaterial = next;
      log.info({}, 'TLS material reloaded: new handshakes use it');
      return { subject: cert.subject, issuer: cert.issuer, validTo: cert.validTo };
    },

    start(): Promise<{ port: number }> {
      if (closed) return Promise.reject(new TransportError('closed', 'network closed'));
      if (server) return Promise.reject(new Error('already started'));
      const tlsOpts = tlsMaterial;
      const srv: net.Server = tlsOpts
        ? tls.createServer(
            {
              key: tlsOpts.key,
              cert: tlsOpts.cert,
              ca: tlsOpts.ca,
              requestCert: true,
              rejectUnauthorized: true,
              handshakeTimeout: limits.handshakeTimeoutMs,
            },
            onConnection,
          )
        : net.createServer(onConnection);
      if (tlsOpts) {
        srv.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
          const timeout = /timeout/i.test(err.message);
          if (timeout) m.handshakeTimeouts++;
          countRejection('inbound', timeout ? 'timeout' : 'tls', remoteOf(socket), err.message);
          socket.destroy();
        });
      }
      // Every raw socket, including TLS ones still in their TLS handshake, so close() ends them all.
      srv.on('connection', (raw: net.Socket) => {
        rawSockets.add(raw);
        raw.once('close', () => rawSockets.delete(raw));
      });
      // TLS sockets only reach onConnection after the TLS handshake; cap raw connections too.
      srv.maxConnections =
        limits.maxInboundConnections + limits.maxHandshakingConnections + 2 * peers.size + 16;
      server = srv;
      return new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(options.listen.port, options.listen.host, () => {
          srv.off('error', reject);
          srv.on('error', (err) => log.error({ err }, 'server error'));
          const port = (srv.address() as net.AddressInfo).port;
          log.info({ nodeId, host: options.listen.host, port }, 'transport listening');
          emit({ type: 'listening', port });
          announce();
          resolve({ port });
        });
      });
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const p of peers.values()) {
        p.removed = true;
        dropSocket(p);
        p.queue = [];
        p.head = 0;
        p.queuedBytes = 0;
      }
      for (const c of inbound) closeInbound(c, 'network closed');
      inbound.clear();
      for (const raw of rawSockets) raw.destroy();
      rawSockets.clear();
      const srv = server;
      if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
    },

    metrics(): TransportMetrics {
      let activeInbound = 0;
      let activeClients = 0;
      for (const c of inbound) {
        if (c.state === 'peer') activeInbound++;
        if (c.state === 'client') activeClients++;
      }
      const peerMetrics: Record<string, PeerMetrics> = {};
      let activeOutbound = 0;
      for (const p of peers.values()) {
        if (p.state === 'ready') activeOutbound++;
        peerMetrics[p.id] = {
          address: p.address,
          connected: p.state === 'ready',
          queuedFrames: queueLength(p),
          queuedBytes: p.queuedBytes,
          droppedFrames: p.dropped,
          reconnects: p.reconnects,
        };
      }
      return {
        ...m,
        rejectedByReason: { ...m.rejectedByReason },
        activeInbound,
        activeClients,
        activeOutbound,
        inboundBufferedBytes: inboundBuffered,
        clientUnsentBytes: clientUnsent,
        peers: peerMetrics,
      };
    },
  };
}
