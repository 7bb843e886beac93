/**
 * The client side of the client channel: one connection to a node, many concurrent requests
 * multiplexed by a request id in a small envelope: `u32 requestId | opaque frame`, the reply
 * carries the same id. Leader redirects and retries belong to a higher layer.
 */
import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import { createDeadlineSet } from '../env/deadline-set.js';
import { createRealClock } from '../env/real-clock.js';
import { TransportError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, writeChunks } from './framing.js';
import { decodeAck, encodeHello, MAX_HANDSHAKE_BYTES, PROTOCOL_VERSION } from './handshake.js';
import { type Endpoint, openSocket, parseEndpoint } from './socket-util.js';
import type { RequestOptions, TcpClientConnection, TcpClientOptions } from './types.js';

interface Pending {
  resolve(frame: Uint8Array): void;
  reject(err: TransportError): void;
  sent: boolean;
  /** When it was handed to the socket (performance.now()), for the liveness check. */
  sentAt: number;
}

/** Creates a client connection to `endpoint`; it connects lazily on the first request. */
export function createTcpClientConnection(options: TcpClientOptions): TcpClientConnection {
  const endpoint: Endpoint = parseEndpoint(options.endpoint);
  const clientId = options.clientId ?? randomUUID();
  const maxFrameBytes = options.limits?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const handshakeTimeoutMs = options.limits?.handshakeTimeoutMs ?? 5000;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let socket: net.Socket | undefined;
  let ready = false;
  let connecting: Promise<void> | undefined;
  let closed = false;
  /** Requests queued behind `connect()`'s promise that have not been sent yet. */
  let awaitingConnect = 0;
  /** The member that accepted the last completed handshake (its ACK's responder id). */
  let memberId: string | null = null;
  // Liveness (see TcpClientOptions.liveness): when anything last arrived, the timer checking
  // the connection while requests wait, whether a probe is out, and why the socket was dropped.
  let lastReceivedAt = performance.now();
  /**
   * Request timeouts behind one timer (a setTimeout + clearTimeout per request cost about 4 us of
   * a sequential put here). Unref'd: while a request is pending its socket keeps the process up.
   */
  const deadlines = createDeadlineSet(createRealClock(), { unref: true });
  let livenessTimer: ReturnType<typeof setTimeout> | undefined;
  let probing = false;
  let dropReason = '';
  /** The send backlog at the last liveness check that found one (-1: none). */
  let stalledWritable = -1;

  /** Rejects pending requests; with `sentOnly`, those still waiting for connect() are left to it. */
  function failAll(make: (sent: boolean) => TransportError, sentOnly = false): void {
    for (const [id, p] of [...pending]) {
      if (sentOnly && !p.sent) continue;
      pending.delete(id);
      p.reject(make(p.sent));
    }
  }

  function connect(): Promise<void> {
    if (closed) return Promise.reject(new TransportError('closed', 'client connection closed'));
    if (ready) return Promise.resolve();
    if (connecting) return connecting;
    connecting = new Promise<void>((resolve, reject) => {
      const decoder = new FrameDecoder(MAX_HANDSHAKE_BYTES);
      let settled = false;
      const settle = (err?: TransportError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        connecting = undefined;
        if (err) {
          s.destroy();
          reject(err);
        } else {
          ready = true;
          decoder.setMaxFrameBytes(maxFrameBytes);
          resolve();
        }
      };
      const s = openSocket(endpoint, options.tls, () => {
        s.setNoDelay(true);
        s.write(
          encodeFrame(
            encodeHello({
              kind: 'client',
              clusterId: options.clusterId ?? '',
              senderId: clientId,
              receiverId: '',
            }),
          ),
        );
      });
      socket = s;
      const timer = setTimeout(
        () => settle(new TransportError('handshake-timeout', `no handshake ACK from ${options.endpoint}`)),
        handshakeTimeoutMs,
      );
      // Reported through 'close', with the reason (e.g. a TLS certificate the client refuses).
      let socketError: Error | undefined;
      s.on('error', (e: Error) => {
        socketError ??= e;
      });
      s.on('close', () => {
        if (socket === s) {
          socket = undefined;
          ready = false;
        }
        settle(
          new TransportError(
            'connect-failed',
            `connection to ${options.endpoint} closed during handshake${socketError ? `: ${socketError.message}` : ''}`,
            socketError ? { cause: socketError } : {},
          ),
        );
        const why = dropReason ? `: ${dropReason}` : '';
        dropReason = '';
        failAll(
          (sent) =>
            new TransportError('connection-lost', `connection to ${options.endpoint} lost${why}`, { sent }),
          true,
        );
      });
      s.on('data', (chunk: Buffer) => {
        lastReceivedAt = performance.now();
        try {
          // An HTTP server's answer (its 400 to our binary hello), not a length prefix of 1.2 GB.
          if (!ready && decoder.bufferedBytes === 0 && chunk.subarray(0, 5).toString('latin1') === 'HTTP/')
            return settle(
              new TransportError(
                'handshake-rejected',
                `${options.endpoint} answers in HTTP: is it a member's --http port? Clients use its --listen port`,
                { reason: 'bad-magic' },
              ),
            );
          decoder.append(chunk);
          for (let f = decoder.next(); f !== null; f = decoder.next()) {
            if (!ready) {
              const ack = decodeAck(f);
              if (ack.rejected !== null)
                return settle(
                  new TransportError('handshake-rejected', `refused: ${ack.message}`, {
                    reason: ack.rejected,
                  }),
                );
              if (ack.version !== PROTOCOL_VERSION)
                return settle(
                  new TransportError('handshake-rejected', 'protocol version', { reason: 'version' }),
                );
              if (options.clusterId !== undefined && ack.clusterId !== options.clusterId)
                return settle(
                  new TransportError('handshake-rejected', `node is in cluster '${ack.clusterId}'`, {
                    reason: 'cluster',
                  }),
                );
              memberId = ack.responderId || null;
              settle();
              continue;
            }
            if (f.length < 4) throw new TransportError('malformed', 'reply envelope too short');
            const id = Buffer.from(f.buffer, f.byteOffset, 4).readUInt32BE(0);
            const p = pending.get(id);
            if (p) {
              pending.delete(id);
              p.resolve(f.subarray(4));
            } // else: a late reply to a timed-out or aborted request
          }
        } catch (err) {
          const e = err instanceof TransportError ? err : new TransportError('malformed', String(err));
          settle(e);
          s.destroy();
        }
      });
    });
    return connecting;
  }

  // Not async: an async function returning this promise would settle its own one a few microtask
  // turns later, on every reply.
  function request(frame: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    if (closed) return Promise.reject(new TransportError('closed', 'client connection closed'));
    if (frame.length + 4 > maxFrameBytes)
      return Promise.reject(new TransportError('frame-too-large', 'request exceeds maximum frame size'));
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
    const id = nextId;
    nextId = nextId >= 0xffffffff ? 1 : nextId + 1;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise<Uint8Array>((resolve, reject) => {
      const entry: Pending = {
        sent: false,
        sentAt: 0,
        resolve: (f) => {
          cleanup();
          resolve(f);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      const deadline = deadlines.add(performance.now() + timeoutMs, () => {
        pending.delete(id);
        entry.reject(new TransportError('timeout', `no reply within ${timeoutMs} ms`, { sent: entry.sent }));
      });
      const onAbort = (): void => {
        pending.delete(id);
        entry.reject(
          new TransportError('aborted', 'request aborted', { sent: entry.sent, cause: opts.signal?.reason }),
        );
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      function cleanup(): void {
        deadlines.remove(deadline);
        opts.signal?.removeEventListener('abort', onAbort);
      }
      pending.set(id, entry);
      const enqueue = (): void => {
        if (pending.get(id) !== entry) return; // timed out or aborted meanwhile
        const s = socket;
        if (!s || !ready) {
          pending.delete(id);
          entry.reject(new TransportError('connection-lost', 'not connected'));
          return;
        }
        const head = Buffer.allocUnsafe(8);
        head.writeUInt32BE(frame.length + 4, 0);
        head.writeUInt32BE(id, 4);
        // Requests made in the same tick (many callers woken by one batch of replies) leave in
        // one writev. Counted as sent from here: a connection lost before the flush makes the
        // outcome indeterminate, never a silent "not sent".
        if (outbox.length === 0) queueMicrotask(() => flushOutbox(s));
        outbox.push(head, frame);
        entry.sent = true;
        entry.sentAt = performance.now();
        if (!probing) armLiveness();
      };
      // Connected (the usual case): queued now, without a turn through `connect()`'s promise,
      // unless requests made earlier still wait for that turn (they go first).
      if (ready && socket && !closed && awaitingConnect === 0) {
        enqueue();
        return;
      }
      awaitingConnect++;
      connect().then(
        () => {
          awaitingConnect--;
          enqueue();
        },
        (err: unknown) => {
          awaitingConnect--;
          if (pending.get(id) !== entry) return;
          pending.delete(id);
          entry.reject(
            err instanceof TransportError ? err : new TransportError('connect-failed', String(err)),
          );
        },
      );
    });
  }

  /**
   * How long the connection has owed an answer: since the later of the last bytes received and
   * the sending of the oldest request still waiting (a request sent after a quiet spell is not
   * late yet). -1 when no request waits.
   */
  function silentFor(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const p of pending.values()) if (p.sent && p.sentAt < oldest) oldest = p.sentAt;
    return oldest === Number.POSITIVE_INFINITY ? -1 : performance.now() - Math.max(lastReceivedAt, oldest);
  }

  /** Starts the liveness check, if configured and not running, for the requests in flight. */
  function armLiveness(): void {
    const l = options.liveness;
    if (!l || livenessTimer || closed) return;
    livenessTimer = setTimeout(checkLiveness, Math.max(1, l.idleMs - Math.max(0, silentFor())));
  }

  /**
   * Requests wait and nothing has arrived for `idleMs`: ask the member something it answers at
   * once. No answer within `timeoutMs` means the connection is dead (a pulled cable, a frozen
   * process): dropping it fails the waiting requests as `connection-lost` with `sent: true`, so
   * the caller can retry them elsewhere instead of waiting out its deadline.
   */
  function checkLiveness(): void {
    livenessTimer = undefined;
    const l = options.liveness;
    const s = socket;
    // The probe in flight re-arms when it settles.
    if (!l || closed || !s || !ready || probing) return;
    const idle = silentFor();
    if (idle < 0) return;
    if (idle < l.idleMs) {
      armLiveness();
      return;
    }
    if (s.writableLength > 0 && s.writableLength !== stalledWritable) {
      // Still writing (a large request going out): busy, not silent, while the backlog moves.
      // A backlog that stops moving (a pulled cable) gets probed like silence.
      stalledWritable = s.writableLength;
      livenessTimer = setTimeout(checkLiveness, l.idleMs);
      return;
    }
    stalledWritable = -1;
    probing = true;
    request(l.probe(), { timeoutMs: l.timeoutMs }).then(
      () => {
        probing = false;
        armLiveness();
      },
      (e: unknown) => {
        probing = false;
        if (!(e instanceof TransportError) || e.code !== 'timeout' || socket !== s) return;
        dropReason = `no answer to a liveness probe within ${l.timeoutMs} ms after ${Math.round(idle)} ms of silence`;
        s.destroy();
      },
    );
  }

  let outbox: Uint8Array[] = [];
  function flushOutbox(s: net.Socket): void {
    const frames = outbox;
    outbox = [];
    if (s.destroyed) return; // its pending requests fail with the connection
    writeChunks(s, frames);
  }

  return {
    clientId,
    get memberId() {
      return memberId;
    },
    connect,
    request,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (livenessTimer) clearTimeout(livenessTimer);
      failAll((sent) => new TransportError('closed', 'client connection closed', { sent }));
      deadlines.expireAll(); // none left: disarms the timer
      const s = socket;
      socket = undefined;
      ready = false;
      if (s && !s.destroyed) {
        await new Promise<void>((resolve) => {
          s.once('close', () => resolve());
          s.destroy();
        });
      }
    },
  };
}
