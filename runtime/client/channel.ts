/**
 * How a client reaches the cluster: `call(request)` -> the final `ClientResponse`, after leader
 * discovery, redirects and retries. Two implementations: TCP (`createTcpChannel`, used by
 * `connect`) and in-process (`createLocalChannel`, used by the embedded client).
 *
 * Retry contract: `not_leader`, `busy`, `rejected/dropped`, `indeterminate` and transport failures
 * are retried with backoff until the deadline, always with the SAME request (so a command keeps its
 * sequence number and the server's exactly-once table applies it once). When the deadline or the
 * caller's signal ends the attempts after some attempt of a request that changes something
 * (`command`, `conf_change`, `transfer_leader`) may have reached a leader, the result is an
 * `IndeterminateError`; when nothing was ever sent, an `UnreachableError`. Likewise a refusal
 * (`rejected`, `error`) that answers a retry of such a request after an attempt whose outcome never
 * came back is an `IndeterminateError`: the refusal speaks only for the retry, and the earlier
 * attempt may have applied.
 *
 * Every attempt is bounded by the call's deadline and signal, in-process too (an embedded client
 * whose member can no longer commit stops waiting at its deadline, like a TCP client).
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
  /**
   * Filled in when the call returns a response: `maybeApplied` is true when an earlier attempt of
   * this call may have reached the log (it was sent and its outcome never came back). False means
   * the returned response speaks for the only attempt that can have had an effect.
   */
  report?: { maybeApplied: boolean };
}

/** See module doc. */
export interface Channel {
  call(req: CallRequest, opts: CallOptions): Promise<ClientResponse>;
  /** Closes the channel: calls in progress stop retrying (as if aborted), later calls fail `CLOSED`. */
  close(): Promise<void>;
}

const RETRY = new Set(['not_leader', 'busy', 'indeterminate']);

/** Request kinds that change something: an attempt with an unknown outcome may have applied. */
const MUTATING = new Set<string>(['command', 'conf_change', 'transfer_leader']);
/**
 * Handshake refusals that a retry cannot change: the member is in another cluster or speaks
 * another protocol version, or the endpoint does not speak this protocol (an HTTP port).
 */
const DEFINITE_REFUSALS: ReadonlySet<string> = new Set(['cluster', 'version', 'bad-magic']);

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

/** First backoff sleep (ms); it doubles per attempt up to `MAX_BACKOFF_MS`. */
export const FIRST_BACKOFF_MS = 20;
/**
 * Longest backoff sleep (ms). Kept near one heartbeat: after a failover the new leader is usually
 * known within an election timeout, and a longer sleep only adds to the client's outage.
 */
export const MAX_BACKOFF_MS = 100;
/** Redirects to a hinted leader followed at once, in a row, before backing off again. */
const MAX_IMMEDIATE_REDIRECTS = 3;
/** How often a client may handshake with its unidentified endpoints to learn which member each is. */
const IDENTIFY_INTERVAL_MS = 1000;
/** How long a redirected call waits for those handshakes before it uses the redirect's address. */
const IDENTIFY_WAIT_MS = 500;
/**
 * A connection with calls in flight that has received nothing for LIVENESS_IDLE_MS is asked for
 * the member's status; no answer within LIVENESS_TIMEOUT_MS drops it, and its calls retry
 * elsewhere (same sequence numbers) instead of waiting out their deadlines on a member that is
 * gone from the network. Waiting calls (a lock wait) are kept: the member answers the probe.
 */
const LIVENESS_IDLE_MS = 1000;
const LIVENESS_TIMEOUT_MS = 1000;
/**
 * Default time a client connection's TCP connect, TLS and handshake may take: a member answers
 * within milliseconds, and one that has not after this long is taken as gone and the next
 * endpoint is tried (etcdctl's --dial-timeout defaults to 2 s too).
 */
export const DIAL_TIMEOUT_MS = 2000;
/** Transport failures that say the endpoint is unusable now, not that the call ended. */
const ENDPOINT_FAILURES: ReadonlySet<string> = new Set([
  'connect-failed',
  'handshake-timeout',
  'connection-lost',
]);
/** How long an endpoint that failed so is tried only after the others. */
const FAILED_ENDPOINT_SKIP_MS = 5000;

/** The backoff before attempt `i + 1` after a failed attempt `i` (0-based). */
export function backoffMs(i: number): number {
  return Math.min(FIRST_BACKOFF_MS * 2 ** Math.min(i, 10), MAX_BACKOFF_MS);
}

/**
 * Wakes every sleeper of a channel at once when it closes. One listener on the channel's signal
 * in total, not one per sleeping call: 64 calls backing off together would otherwise put 64
 * listeners on one AbortSignal (Node's MaxListenersExceededWarning).
 */
class Sleepers {
  private readonly wakers = new Set<() => void>();
  closed = false;

  wakeAll(): void {
    this.closed = true;
    for (const w of [...this.wakers]) w();
  }

  /**
   * Resolves after `ms` on `clock`, when `signal` aborts, when the channel closes, or when
   * anything in `alsoWakeOn` is called.
   */
  sleep(
    clock: Clock,
    ms: number,
    signal: AbortSignal | undefined,
    alsoWakeOn?: Set<() => void>,
  ): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || signal?.aborted) {
        resolve();
        return;
      }
      const t = clock.setTimer(ms, done);
      const wakers = this.wakers;
      wakers.add(done);
      alsoWakeOn?.add(done);
      signal?.addEventListener('abort', done, { once: true });
      function done() {
        clock.clearTimer(t);
        wakers.delete(done);
        alsoWakeOn?.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  /**
   * `p`, or a `TransportError` (`sent: true`: the request was handed over) when `ms` pass on `clock`,
   * `signal` aborts or the channel closes first. `p` itself is left to run.
   */
  bound<T>(clock: Clock, p: Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const wakers = this.wakers;
      const fail = (code: 'timeout' | 'aborted' | 'closed', message: string) => {
        cleanup();
        reject(new TransportError(code, message, { sent: true }));
      };
      const onTimer = () => fail('timeout', `no answer within ${ms} ms`);
      const onAbort = () => fail('aborted', 'aborted by the caller');
      const onClose = () => fail('closed', 'client closed');
      const t = clock.setTimer(Math.max(0, ms), onTimer);
      function cleanup() {
        clock.clearTimer(t);
        wakers.delete(onClose);
        signal?.removeEventListener('abort', onAbort);
      }
      if (this.closed || signal?.aborted) {
        p.catch(() => undefined); // left to run; its outcome is no longer anyone's
        return this.closed ? onClose() : onAbort();
      }
      wakers.add(onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => {
          cleanup();
          resolve(v);
        },
        (e) => {
          cleanup();
          reject(e);
        },
      );
    });
  }
}

/** What `attempt` is told about the previous attempt, to pick its target. */
interface Attempted {
  /** The endpoint the attempt went to (TCP), or null. */
  target: string | null;
}

/**
 * Retries `attempt` per the module contract. `attempt` returns a response or throws a
 * TransportError. Pacing: a `not_leader` naming a leader other than the member just asked is
 * followed at once (up to MAX_IMMEDIATE_REDIRECTS in a row), a connection that could not be made
 * moves to the next endpoint at once (once per endpoint in a row); everything else backs off
 * (`backoffMs`: 20, 40, 80, then 100 ms).
 */
async function retrying(
  clock: Clock,
  sleepers: Sleepers,
  attempt: (req: ClientRequest, timeoutMs: number, at: Attempted) => Promise<ClientResponse>,
  onFailure: (res: ClientResponse | null, at: Attempted, err?: TransportError) => void,
  req: CallRequest,
  opts: CallOptions,
  requestIds: { n: number },
  endpoints: number,
  /** The endpoints the caller configured (a redirect's target is not one of them). */
  configured: readonly string[] = [],
): Promise<ClientResponse> {
  let maybeApplied = false;
  let lastProblem = 'no attempt made';
  /** The last failure was a member's answer that it does not lead and knows no leader. */
  let leaderless = false;
  let failures = 0;
  let redirects = 0;
  let unreachable = 0;
  /** Endpoints that refused the handshake for good (another cluster or version, not our protocol). */
  const refusedBy = new Set<string>();
  for (;;) {
    const remaining = Math.floor(opts.deadline - clock.now());
    if (opts.signal?.aborted || sleepers.closed || remaining <= 0) {
      const why = opts.signal?.aborted ? 'aborted' : sleepers.closed ? 'client closed' : 'deadline passed';
      if (maybeApplied && MUTATING.has(req.kind))
        throw new IndeterminateError(`${why}; the ${req.kind} may have been applied (${lastProblem})`);
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      if (sleepers.closed) throw new CoordinationError('CLOSED', 'client closed');
      if (leaderless)
        throw new UnreachableError(
          `${why}: no leader: the members answer but none leads (is a majority of the voters up?); last answer: ${lastProblem}`,
          'no_leader',
        );
      throw new UnreachableError(`${why}: ${lastProblem}`);
    }
    let res: ClientResponse | null = null;
    const at: Attempted = { target: null };
    try {
      res = await attempt(
        { type: 'ClientRequest', requestId: ++requestIds.n, deadlineMs: remaining, ...req },
        remaining,
        at,
      );
    } catch (e) {
      if (!(e instanceof TransportError)) throw e;
      if (e.sent) maybeApplied = true;
      lastProblem = e.message;
      leaderless = false;
      if (
        e.code === 'handshake-rejected' &&
        e.reason &&
        DEFINITE_REFUSALS.has(e.reason) &&
        at.target !== null &&
        configured.includes(at.target)
      ) {
        refusedBy.add(at.target);
        // Every configured endpoint refuses us for a reason retrying cannot change: say so now.
        if (refusedBy.size >= configured.length && !maybeApplied)
          throw new UnreachableError(`every endpoint refused the connection: ${lastProblem}`);
      }
      onFailure(null, at, e);
      redirects = 0;
      // Nothing reached that member (refused, reset during connect): try the next one at once.
      if (!e.sent && e.code !== 'aborted' && e.code !== 'closed' && ++unreachable < endpoints) continue;
    }
    if (res) {
      unreachable = 0;
      const dropped = res.status === 'rejected' && res.errorCode === 'dropped';
      if (!RETRY.has(res.status) && !dropped) {
        if (maybeApplied && MUTATING.has(req.kind) && (res.status === 'rejected' || res.status === 'error'))
          throw new IndeterminateError(
            `a retry was refused (${res.status}${res.errorCode ? ` ${res.errorCode}` : ''}${res.message ? `: ${res.message}` : ''}), ` +
              `but an earlier attempt may have been applied (${lastProblem})`,
          );
        if (opts.report) opts.report.maybeApplied = maybeApplied;
        return res;
      }
      // `dropped`: that member's copy of the entry was overwritten, but another member may still
      // hold it and a later leader commit it (Raft paper, figure 8): possibly applied.
      if (res.status === 'indeterminate' || dropped) maybeApplied = true;
      lastProblem = `${res.status}${res.errorCode ? ` ${res.errorCode}` : ''}${res.message ? `: ${res.message}` : ''}`;
      leaderless = res.status === 'not_leader' && !res.leaderAddress && !res.leaderId;
      onFailure(res, at);
      // A known leader other than the member just asked: follow at once.
      if (
        res.status === 'not_leader' &&
        res.leaderAddress &&
        res.leaderAddress !== at.target &&
        ++redirects <= MAX_IMMEDIATE_REDIRECTS
      )
        continue;
      // A superseded proposal: a new leader exists; ask again at once (once in a row).
      if (dropped && redirects++ === 0) continue;
    }
    redirects = 0;
    unreachable = 0;
    await sleepers.sleep(clock, backoffMs(failures++), opts.signal);
  }
}

/** Options of `createTcpChannel`. */
export interface TcpChannelOptions {
  endpoints: readonly string[];
  clusterId?: string;
  clientId: string;
  tls?: TransportTlsOptions;
  /** How long a connection's TCP connect, TLS and handshake may take (default DIAL_TIMEOUT_MS). */
  dialTimeoutMs?: number;
  /** Deadlines, backoff and the identification wait (default: the real clock). */
  clock?: Clock;
}

/** A TCP channel keeping one connection per endpoint in use, preferring the last known leader. */
export function createTcpChannel(o: TcpChannelOptions): Channel & { readonly current: string | null } {
  const conns = new Map<string, TcpClientConnection>();
  const order = [...o.endpoints];
  let current: string | null = null;
  let rr = 0;
  const ids = { n: 0 };
  const clock = o.clock ?? createRealClock();
  const sleepers = new Sleepers();
  const livenessProbe = () =>
    encodeClientMessage({
      type: 'ClientRequest',
      requestId: 0,
      clientId: o.clientId,
      sequence: 0,
      kind: 'status',
      consistency: 'stale',
      deadlineMs: LIVENESS_TIMEOUT_MS,
      payload: new Uint8Array(0),
    });
  const conn = (ep: string) => {
    let c = conns.get(ep);
    if (!c) {
      // Nothing opens after close(): it would never be closed.
      if (sleepers.closed) throw new TransportError('closed', 'client closed');
      c = createTcpClientConnection({
        endpoint: ep,
        clusterId: o.clusterId,
        clientId: o.clientId,
        tls: o.tls,
        liveness: { idleMs: LIVENESS_IDLE_MS, timeoutMs: LIVENESS_TIMEOUT_MS, probe: livenessProbe },
        limits: { handshakeTimeoutMs: o.dialTimeoutMs ?? DIAL_TIMEOUT_MS },
      });
      conns.set(ep, c);
    }
    return c;
  };
  // A redirect names the leader's peer address, which need not be the way this client reaches
  // it (a proxy per link, NAT, another interface): a configured endpoint known to front the same
  // member is used instead, so a link between two members failing never strands the client.
  /** Member ids that redirects gave for addresses this client was not configured with. */
  const redirectIds = new Map<string, string>();
  const memberOf = (target: string) => conns.get(target)?.memberId ?? redirectIds.get(target) ?? null;
  const configuredOf = (id: string) => o.endpoints.find((ep) => conns.get(ep)?.memberId === id);
  const configuredFor = (target: string): string => {
    if (o.endpoints.includes(target)) return target;
    const id = memberOf(target);
    return (id && configuredOf(id)) || target;
  };
  let identifiedAt = Number.NEGATIVE_INFINITY;
  /** Identifying handshakes not yet settled, and who waits for one to settle. */
  let identifying = 0;
  const onIdentified = new Set<() => void>();
  /** Handshakes (at most once per IDENTIFY_INTERVAL_MS) with configured endpoints not yet identified. */
  const identifyConfigured = () => {
    if (sleepers.closed || clock.now() - identifiedAt < IDENTIFY_INTERVAL_MS) return;
    identifiedAt = clock.now();
    for (const ep of o.endpoints) {
      if (conns.get(ep)?.memberId) continue;
      identifying++;
      const settled = () => {
        identifying--;
        for (const wake of [...onIdentified]) wake();
      };
      conn(ep).connect().then(settled, settled);
    }
  };
  /**
   * For a target this client was not configured with: its member's configured endpoint, waiting
   * up to `maxWaitMs` for the identifying handshakes to find it (one that cannot complete, say to
   * a member cut off from this client, must not hold every redirect up).
   */
  const resolveTarget = async (target: string, maxWaitMs: number, signal?: AbortSignal): Promise<string> => {
    const id = o.endpoints.includes(target) ? null : memberOf(target);
    if (!id) return target;
    const until = clock.now() + maxWaitMs;
    while (
      !configuredOf(id) &&
      identifying > 0 &&
      clock.now() < until - 1 &&
      !sleepers.closed &&
      !signal?.aborted
    )
      await sleepers.sleep(clock, until - clock.now(), signal, onIdentified);
    if (sleepers.closed) throw new TransportError('closed', 'client closed');
    if (signal?.aborted) throw new TransportError('aborted', 'request aborted', { cause: signal.reason });
    return configuredFor(target);
  };
  /** When an attempt at each endpoint last failed for the endpoint's sake (ENDPOINT_FAILURES). */
  const failedAt = new Map<string, number>();
  /**
   * The next endpoint in turn, passing over those that failed so in the last
   * FAILED_ENDPOINT_SKIP_MS while another may answer: a member that dropped off the network
   * accepts no handshake, and trying it again first would cost a dial timeout per call.
   */
  const nextEndpoint = (): string => {
    for (let k = 0; k < order.length; k++) {
      const ep = order[rr++ % order.length] as string;
      const failed = failedAt.get(configuredFor(ep)) ?? Number.NEGATIVE_INFINITY;
      if (clock.now() - failed >= FAILED_ENDPOINT_SKIP_MS) return ep;
    }
    return order[rr++ % order.length] as string;
  };
  return {
    get current() {
      return current;
    },
    call(req, opts) {
      return retrying(
        clock,
        sleepers,
        async (r, timeoutMs, at) => {
          // Per attempt (calls run concurrently): the endpoint this attempt goes to.
          const started = clock.now();
          const endpoint = current ?? nextEndpoint();
          // A configured endpoint is its own target (no await on the usual path).
          const target = o.endpoints.includes(endpoint)
            ? endpoint
            : await resolveTarget(endpoint, Math.min(IDENTIFY_WAIT_MS, timeoutMs / 2), opts.signal);
          at.target = target;
          const bytes = await conn(target).request(encodeClientMessage(r), {
            signal: opts.signal,
            timeoutMs: Math.max(1, timeoutMs - (clock.now() - started)),
          });
          // A reply that is not a ClientResponse still means the request reached a member (sent).
          let m: ReturnType<typeof decodeClientMessage>;
          try {
            m = decodeClientMessage(bytes);
          } catch (e) {
            throw new TransportError('malformed', `undecodable reply: ${String(e)}`, {
              sent: true,
              cause: e,
            });
          }
          if (m.type !== 'ClientResponse')
            throw new TransportError('malformed', 'expected a ClientResponse', { sent: true });
          if (m.status !== 'not_leader') current = target;
          failedAt.delete(target);
          return m;
        },
        (res, at, err) => {
          // No connection could be made there, or it died under the call (dropped as silent):
          // try the others first. Not for the call's own abort, deadline or close.
          if (at.target !== null && err && ENDPOINT_FAILURES.has(err.code))
            failedAt.set(at.target, clock.now());
          if (res?.status === 'not_leader' && res.leaderAddress) {
            current = res.leaderAddress;
            if (!o.endpoints.includes(res.leaderAddress)) {
              if (res.leaderId) redirectIds.set(res.leaderAddress, res.leaderId);
              identifyConfigured();
            }
            if (!order.includes(res.leaderAddress)) order.push(res.leaderAddress);
          } else if (current !== null && configuredFor(current) === at.target) current = null; // only what this attempt learned
        },
        req,
        opts,
        ids,
        order.length,
        o.endpoints,
      );
    },
    async close() {
      sleepers.wakeAll();
      await Promise.all([...conns.values()].map((c) => c.close().catch(() => undefined)));
      conns.clear();
    },
  };
}

/**
 * An in-process channel on a member's request handler (no redirects: a follower answers
 * not_leader). `clock` must be the clock deadlines are expressed on (the node's env clock). Each
 * attempt ends at the call's deadline, on its signal or when the channel closes, whether or not the
 * handler answered (its request may still apply: the outcome is then unknown).
 */
export function createLocalChannel(handler: RequestHandler, clock: Clock): Channel {
  const ids = { n: 0 };
  const sleepers = new Sleepers();
  return {
    call: (req, opts) =>
      retrying(
        clock,
        sleepers,
        (r, timeoutMs) => sleepers.bound(clock, handler.handle(r), timeoutMs, opts.signal),
        () => undefined,
        req,
        opts,
        ids,
        1,
      ),
    async close() {
      sleepers.wakeAll();
    },
  };
}
