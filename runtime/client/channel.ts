/**
 * How a client reaches the cluster: `call(request)` -> the final `ClientResponse`, after leader
 * discovery, redirects and retries. Two implementations: TCP (`createTcpChannel`, used by
 * `connect`) and in-process (`createLocalChannel`, used by the embedded client).
 *
 * Retry contract: `not_leader`, `busy`, `rejected/dropped`, `indeterminate` and transport failures
 * are retried with backoff until the deadline, always with the SAME request (so a command keeps its
 * sequence number and the server's exactly-once table applies it once). When the deadline or the
 * caller's signal ends the attempts after some attempt may have reached a leader, the result is an
 * `IndeterminateError`; when nothing was ever sent, an `UnreachableError`.
 *
 * Time: deadlines and backoff sleeps use the channel's `Clock` (the real one for TCP by default,
 * the node's env clock for an embedded client), never Node's timers directly, so a simulated
 * world decides when a retry happens.
 */
import {
  type ClientRequest,
  type ClientResponse,
  decodeClientMessage,
  encodeClientMessage,
} from '../../generated/index.js';
import { CoordinationError } from '../coordination/errors.js';
import { createRealClock } from '../env/real-clock.js';
import type { Clock } from '../env/types.js';
import type { RequestHandler } from '../server/handler.js';
import { TransportError } from '../transport/errors.js';
import { createTcpClientConnection } from '../transport/tcp-client.js';
import type { TcpClientConnection, TransportTlsOptions } from '../transport/types.js';
import { IndeterminateError, UnreachableError } from './errors.js';

/** A request without its per-attempt fields. */
export type CallRequest = Omit<ClientRequest, 'type' | 'requestId' | 'deadlineMs'>;

/** Per-call options: an absolute deadline on the channel's clock (`clock.now()`) and an optional signal. */
export interface CallOptions {
  deadline: number;
  signal?: AbortSignal;
}

/** See module doc. */
export interface Channel {
  call(req: CallRequest, opts: CallOptions): Promise<ClientResponse>;
  /** Closes the channel: calls in progress stop retrying (as if aborted), later calls fail `CLOSED`. */
  close(): Promise<void>;
}

const RETRY = new Set(['not_leader', 'busy', 'indeterminate']);

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function clockSleep(clock: Clock, ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  return new Promise((resolve) => {
    if (signals.some((s) => s?.aborted)) {
      resolve();
      return;
    }
    const t = clock.setTimer(ms, done);
    function done() {
      clock.clearTimer(t);
      for (const s of signals) s?.removeEventListener('abort', done);
      resolve();
    }
    for (const s of signals) s?.addEventListener('abort', done, { once: true });
  });
}

/** Retries `attempt` per the module contract. `attempt` returns a response or throws a TransportError. */
async function retrying(
  clock: Clock,
  closed: AbortSignal,
  attempt: (req: ClientRequest, timeoutMs: number) => Promise<ClientResponse>,
  onFailure: (res: ClientResponse | null) => void,
  req: CallRequest,
  opts: CallOptions,
  requestIds: { n: number },
): Promise<ClientResponse> {
  let maybeApplied = false;
  let lastProblem = 'no attempt made';
  for (let i = 0; ; i++) {
    const remaining = Math.floor(opts.deadline - clock.now());
    if (opts.signal?.aborted || closed.aborted || remaining <= 0) {
      const why = opts.signal?.aborted ? 'aborted' : closed.aborted ? 'client closed' : 'deadline passed';
      if (maybeApplied && req.kind === 'command')
        throw new IndeterminateError(`${why}; the command may have been applied (${lastProblem})`);
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      if (closed.aborted) throw new CoordinationError('CLOSED', 'client closed');
      throw new UnreachableError(`${why}: ${lastProblem}`);
    }
    let res: ClientResponse | null = null;
    try {
      res = await attempt(
        { type: 'ClientRequest', requestId: ++requestIds.n, deadlineMs: remaining, ...req },
        remaining,
      );
    } catch (e) {
      if (!(e instanceof TransportError)) throw e;
      if (e.sent) maybeApplied = true;
      lastProblem = e.message;
      onFailure(null);
    }
    if (res) {
      const dropped = res.status === 'rejected' && res.errorCode === 'dropped';
      if (!RETRY.has(res.status) && !dropped) return res;
      if (res.status === 'indeterminate') maybeApplied = true;
      lastProblem = `${res.status}${res.errorCode ? ` ${res.errorCode}` : ''}${res.message ? `: ${res.message}` : ''}`;
      onFailure(res);
      // A known leader address: follow at once (first redirect); otherwise back off.
      if (res.status === 'not_leader' && res.leaderAddress && i === 0) continue;
    }
    await clockSleep(clock, Math.min(20 * 2 ** Math.min(i, 5), 500), opts.signal, closed);
  }
}

/** Options of `createTcpChannel`. */
export interface TcpChannelOptions {
  endpoints: readonly string[];
  clusterId?: string;
  clientId: string;
  tls?: TransportTlsOptions;
  /** Deadlines and backoff (default: the real clock). Connection/reply timeouts stay the transport's. */
  clock?: Clock;
}

/** A TCP channel keeping one connection per endpoint in use, preferring the last known leader. */
export function createTcpChannel(o: TcpChannelOptions): Channel & { readonly current: string | null } {
  const conns = new Map<string, TcpClientConnection>();
  const order = [...o.endpoints];
  let current: string | null = null;
  let rr = 0;
  const ids = { n: 0 };
  let target = '';
  const clock = o.clock ?? createRealClock();
  const life = new AbortController();
  const conn = (ep: string) => {
    let c = conns.get(ep);
    if (!c) {
      c = createTcpClientConnection({
        endpoint: ep,
        clusterId: o.clusterId,
        clientId: o.clientId,
        tls: o.tls,
      });
      conns.set(ep, c);
    }
    return c;
  };
  return {
    get current() {
      return current;
    },
    call(req, opts) {
      return retrying(
        clock,
        life.signal,
        async (r, timeoutMs) => {
          target = current ?? (order[rr++ % order.length] as string);
          const bytes = await conn(target).request(encodeClientMessage(r), {
            signal: opts.signal,
            timeoutMs,
          });
          const m = decodeClientMessage(bytes);
          if (m.type !== 'ClientResponse') throw new TransportError('malformed', 'expected a ClientResponse');
          if (m.status !== 'not_leader') current = target;
          return m;
        },
        (res) => {
          if (res?.status === 'not_leader' && res.leaderAddress) {
            current = res.leaderAddress;
            if (!order.includes(res.leaderAddress)) order.push(res.leaderAddress);
          } else current = null;
        },
        req,
        opts,
        ids,
      );
    },
    async close() {
      life.abort();
      await Promise.all([...conns.values()].map((c) => c.close().catch(() => undefined)));
      conns.clear();
    },
  };
}

/**
 * An in-process channel on a member's request handler (no redirects: a follower answers
 * not_leader). `clock` must be the clock deadlines are expressed on (the node's env clock).
 */
export function createLocalChannel(handler: RequestHandler, clock: Clock): Channel {
  const ids = { n: 0 };
  const life = new AbortController();
  return {
    call: (req, opts) =>
      retrying(
        clock,
        life.signal,
        (r) => handler.handle(r),
        () => undefined,
        req,
        opts,
        ids,
      ),
    async close() {
      life.abort();
    },
  };
}
