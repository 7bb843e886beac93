/**
 * The contract's `Client` over a `Channel`: `connect({ endpoints })` (TCP) and
 * `createEmbeddedClient(node, replica)` (in-process) return the same interface.
 *
 * Contracts:
 * - Every command carries this client's id and a fresh sequence number; retries inside the channel
 *   reuse it, so a command applies at most once. An unknown outcome is an `IndeterminateError`.
 *   Sequences are numbered in epochs (`SEQUENCE_EPOCH` in `server/envelope.ts`): from
 *   `index * SEQUENCE_EPOCH` for a log index the client saw committed, so a server that has
 *   forgotten this client can still tell a retry it may have applied from a new command.
 * - The client opens one coordination session (TTL `sessionTtlMs`) on its first lock, barrier or
 *   election call and keeps it alive every TTL/3.
 *   When the cluster reports the session gone, every held lock's `signal` aborts and a new session
 *   is opened for later calls.
 * - Lock, barrier and campaign waits happen on the server (it answers with the final outcome); the
 *   request deadline is derived from the wait (`waitMs`, the barrier timeout) plus `timeoutMs`.
 *   A lock wait that is abandoned (abort, deadline, unknown outcome) is cancelled on the server
 *   (`LockRelease` with token 0), and released if the grant won the race.
 * - Time: every deadline, backoff, keepalive and poll runs on the client's `Clock` (option
 *   `clock`): the real clock by default for `connect`, the node's env clock for the embedded
 *   client of `createNode`. Nothing here touches Node's timers or `performance.now()` directly, so
 *   in a simulated world the client is as deterministic as the nodes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  BARRIER_TIMEOUT_MS,
  CLOCK_DRIFT_BOUND_MS,
  type ClientResponse,
  type CommandMessage,
  type CommandResult,
  type ConfChange,
  decodeResultMessage,
  encodeCommandMessage,
  encodeConfChange,
  MAX_SESSION_TTL_MS,
  type ReadConsistency,
  SESSION_CHECK_INTERVAL_MS,
  SESSION_TTL_MS,
} from '../../generated/index.js';
import {
  type BarrierResult,
  CoordinationClientCore,
  type CoreClock,
  type HeldLock,
} from '../coordination/client-core.js';
import type { CoordinationReplica } from '../coordination/codec.js';
import { CoordinationError } from '../coordination/errors.js';
import type { VersionVector } from '../coordination/types.js';
import { WaiterRegistry } from '../coordination/waiter-registry.js';
import { createRealClock } from '../env/real-clock.js';
import type { Clock } from '../env/types.js';
import type { RaftNode } from '../node/node.js';
import { SEQUENCE_EPOCH } from '../server/envelope.js';
import { createRequestHandler } from '../server/handler.js';
import { encodeReadQuery, parseJsonPayload, type ServerStatus } from '../server/protocol.js';
import type { TransportTlsOptions } from '../transport/types.js';
import { type Channel, clockSleep, createLocalChannel, createTcpChannel } from './channel.js';
import { IndeterminateError, RequestRejectedError } from './errors.js';

/** Per-call options. */
export interface CallOpts {
  signal?: AbortSignal;
  /** Deadline of this call (default: the client's `timeoutMs`). */
  timeoutMs?: number;
}

/** A KV value with its causal context (pass `context` back to the next write of the key). */
export interface KvValue {
  value: Uint8Array | null;
  /** Concurrent values (application_callback keys); empty otherwise. */
  siblings: Uint8Array[];
  context: VersionVector;
}

/** A barrier handle. */
export interface BarrierHandle {
  /** Arrives and resolves when the barrier is released (satisfied, timed out or cancelled). */
  arrive(opts?: CallOpts): Promise<BarrierResult>;
  /** Withdraws this client's arrival. */
  leave(opts?: CallOpts): Promise<void>;
}

/** An election handle. */
export interface ElectionHandle {
  /** Campaigns; resolves with the leadership epoch (a fence) once elected. */
  campaign(value: Uint8Array | string, opts?: CallOpts): Promise<{ epoch: bigint }>;
  /** Leadership changes (leader session or null, value, epoch), polled, until `signal` aborts. */
  observe(opts?: { signal?: AbortSignal; intervalMs?: number }): AsyncGenerator<{
    leader: string | null;
    value: Uint8Array | null;
    epoch: bigint;
  }>;
  /** Resigns (when leading) or withdraws a pending campaign. */
  resign(opts?: CallOpts): Promise<void>;
}

/** The contract's Client. */
export interface Client {
  readonly clientId: string;
  put(
    key: string,
    value: Uint8Array | string,
    opts?: CallOpts & { context?: VersionVector },
  ): Promise<KvValue>;
  get(key: string, opts?: CallOpts & { consistency?: ReadConsistency }): Promise<KvValue>;
  delete(key: string, opts?: CallOpts & { context?: VersionVector }): Promise<KvValue>;
  lock(
    name: string,
    opts?: { ttlMs?: number; waitMs?: number; signal?: AbortSignal; timeoutMs?: number },
  ): Promise<HeldLock>;
  barrier(
    name: string,
    opts: { participants: number; threshold?: number; timeoutMs?: number },
  ): BarrierHandle;
  election(name: string): ElectionHandle;
  status(opts?: CallOpts): Promise<ServerStatus>;
  /** Membership change through the leader (`members add/remove/promote`). */
  changeMembership(cc: ConfChange, opts?: CallOpts): Promise<{ index: number }>;
  /** Hands leadership to `target` (empty: the most caught-up voter). */
  transferLeader(target: string, opts?: CallOpts): Promise<{ leaderId: string | null }>;
  /** Closes the session (releasing what it holds) and the connections. */
  close(): Promise<void>;
}

/** Options of `connect`. */
export interface ConnectOptions {
  /** `HOST:PORT` endpoints (array or comma-separated). */
  endpoints: readonly string[] | string;
  clusterId?: string;
  /**
   * The exactly-once key of the client's commands and the actor of its key-value writes (default
   * `randomUUID()`). A client may reuse the id of one that has ended (a restarted worker); two live
   * clients must not share one.
   */
  clientId?: string;
  /** Default deadline of a call (default 10000 ms). */
  timeoutMs?: number;
  /** Session TTL (default SESSION_TTL_MS). */
  sessionTtlMs?: number;
  tls?: TransportTlsOptions;
  /**
   * How long connecting to an endpoint (TCP, TLS, handshake) may take before the next one is
   * tried (default DIAL_TIMEOUT_MS, 2000).
   */
  dialTimeoutMs?: number;
  /**
   * Clock for deadlines, backoff, keepalives and polls (default: the real monotonic clock). The
   * TCP connections keep their own socket-level timeouts.
   */
  clock?: Clock;
}

/** Options of `createEmbeddedClient`. */
export interface EmbeddedClientOptions {
  /**
   * The client's id (the exactly-once key of its commands, prefix of its session ids). Default
   * `randomUUID()`. In a simulation pass one (e.g. derived from `env.random()`): a random UUID
   * makes the run differ from seed to seed replay.
   */
  clientId?: string;
  /** Default deadline of a call (default 10000 ms). */
  timeoutMs?: number;
  /** Session TTL (default SESSION_TTL_MS). */
  sessionTtlMs?: number;
  /**
   * Clock of the client and of its in-process request handler: pass the node's `env.clock` (what
   * `createNode`'s `node.client()` does). Default: the real clock.
   */
  clock?: Clock;
  /**
   * Randomness for the client's instance id (part of its session ids), in [0, 1): pass the node's
   * `env.random` in a simulation (`node.client()` does) so a seed replays the same ids. Default
   * `Math.random`.
   */
  random?: () => number;
}

/** Eight base-36 characters from `random`: an id unique to one client object. */
function instanceId(random: () => number): string {
  let id = '';
  for (let i = 0; i < 8; i++) id += Math.floor(random() * 36).toString(36);
  return id;
}

const utf8 = new TextEncoder();
const bytesOf = (v: Uint8Array | string) => (typeof v === 'string' ? utf8.encode(v) : v);
const FOREVER = 24 * 3600 * 1000;
/**
 * Most sequence numbers a client hands out past its oldest command in flight: half the servers'
 * dedup window (`DedupStateMachine`, 256 by default), see `takeSequence`.
 */
const SEQUENCE_SPAN = 128;
/** Longest `close()` waits for the session to close on the cluster. */
const CLOSE_GRACE_MS = 2000;

/**
 * A final answer other than `ok`. `timeout` means the server could not learn the outcome in time
 * (its deadline passed, or what decided a wait is no longer known to it): indeterminate. A refusal
 * reaches this point only when nothing can have applied: the channel reports a refusal that follows
 * an attempt with an unknown outcome as indeterminate itself.
 */
function failed(res: ClientResponse): never {
  if (res.status === 'timeout')
    throw new IndeterminateError(`the outcome is unknown (${res.errorCode}): ${res.message}`);
  throw new RequestRejectedError(res.errorCode || res.status, res.message || res.status);
}

function raise(r: CommandResult): never {
  throw new CoordinationError(r.errorCode, r.message);
}

/** The client over a channel (see module doc). */
class ChannelClient implements Client {
  readonly clientId: string;
  private seq = 0;
  /** The highest log index this client has seen committed (status and command answers). */
  private knownIndex = 0;
  /** First sequence of the current epoch (0: not numbering in epochs yet). */
  private epochStart = 0;
  /** Set by SEQUENCE_EXPIRED: the cluster may have forgotten this client; start a new epoch. */
  private forgotten = false;
  /** `takeSequence`'s one request for a committed index when none was known. */
  private askedForIndex: Promise<void> | null = null;
  /** Sequences of counted commands in flight, oldest first (insertion order). */
  private readonly outstanding = new Set<number>();
  private spanWaiters: (() => void)[] = [];
  private sessionN = 0;
  /**
   * Elections this client's current session won, by name: every `election(name)` handle resigns
   * with that epoch, not only the one that campaigned. Cleared with each new session.
   */
  private readonly electedEpochs = new Map<string, bigint>();
  private core!: CoordinationClientCore;
  private sessionId = '';
  private readonly registry = new WaiterRegistry();
  /** Locks held, by name: the grant's fence token and how many re-entrant handles hold it. */
  private readonly held = new Map<string, { fenceToken: bigint; handles: number }>();
  private keepTimer: unknown = null;
  /** When the current session was last acknowledged alive (opened or kept alive), client clock. */
  private aliveAt = 0;
  /**
   * Fires when the cluster may have expired the session: a session TTL (less the drift bound and
   * one committed-time step) after the SENDING of the last acknowledged open or keepalive. The
   * session is then given up, and with it the held locks' signals, even while a keepalive is
   * still in flight (that keepalive's acknowledgement may come too late to mean anything).
   */
  private sessionDeadline: unknown = null;
  /** Set by `close()`: a grant answered from now on is not handed out. */
  private closing = false;
  /** Aborts the calls of the current session when it is lost or given up (`sessionLost`). */
  private sessionAbort = new AbortController();
  private readonly clock: CoreClock;
  private closed = false;
  private reopening: Promise<void> | null = null;
  /** The first session, opened on the first coordination call. */
  private opening: Promise<void> | null = null;

  constructor(
    private readonly channel: Channel,
    clientId: string,
    /**
     * Unique to this client object (random): its session ids are `clientId/instance/n`, so a client
     * that reuses the `clientId` of an earlier one (a restarted worker) never opens a session of
     * the same id, nor sends lock request ids the cluster remembers from that earlier client.
     */
    private readonly instance: string,
    private readonly timeoutMs: number,
    private readonly ttlMs: number,
    clock: Clock,
    /** Called once by `close()` after the channel closed (e.g. to close an in-process handler). */
    private readonly onClose: () => void = () => undefined,
  ) {
    this.clientId = clientId;
    this.clock = clock;
  }

  private deadline(opts?: CallOpts, extra = 0): number {
    return this.clock.now() + (opts?.timeoutMs ?? this.timeoutMs) + extra;
  }

  /**
   * Runs a call that may wait on the cluster (lock, barrier, election) with one signal: it aborts
   * with the caller's `signal`, or once the call's own `timeoutMs` has passed on the client's
   * clock (reason: a CoordinationError with `timeoutCode`). The waits end on it the same way:
   * withdrawn on the server, rejecting with the reason.
   */
  private async withCallSignal<T>(
    opts: CallOpts | undefined,
    timeoutCode: string,
    what: string,
    fn: (core: CoordinationClientCore, signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    const core = await this.ready();
    if (opts?.timeoutMs === undefined) return fn(core, opts?.signal);
    const ac = new AbortController();
    const forward = () => ac.abort(opts.signal?.reason);
    if (opts.signal?.aborted) forward();
    else opts.signal?.addEventListener('abort', forward, { once: true });
    const timer = this.clock.setTimer(opts.timeoutMs, () =>
      ac.abort(new CoordinationError(timeoutCode, `${what} did not complete within ${opts.timeoutMs} ms`)),
    );
    try {
      return await fn(core, ac.signal);
    } finally {
      this.clock.clearTimer(timer);
      opts.signal?.removeEventListener('abort', forward);
    }
  }

  /** Keepalive every TTL/3, re-armed after each run (a one-shot timer: `Clock` has no interval). */
  private armKeepAlive(): void {
    if (this.closed) return;
    this.keepTimer = this.clock.setTimer(Math.max(50, Math.floor(this.ttlMs / 3)), () => {
      this.keepTimer = null;
      void this.keepAlive().finally(() => {
        if (this.keepTimer === null) this.armKeepAlive();
      });
    });
    // Real timers: a pending keepalive alone must not keep the process alive.
    (this.keepTimer as { unref?: () => void } | null)?.unref?.();
  }

  /**
   * A fresh sequence number. Invariant: while a (non-waiting) command is outstanding, no command
   * gets a sequence SEQUENCE_SPAN or more above it; a new command waits until the oldest one
   * finishes (bounded by that one's deadline). The servers remember the results of a client's
   * last 256 sequences and answer a retry below that window SEQUENCE_EXPIRED (indeterminate),
   * even when its first attempt never applied: with many calls in flight, a call retried across
   * a failover would otherwise fall out of the window while its siblings kept committing.
   * Commands that wait on the server (lock, barrier, campaign) may stay outstanding for minutes
   * and are not counted, so they never hold other calls up.
   */
  private async takeSequence(counted: boolean): Promise<number> {
    if (this.knownIndex === 0) {
      // Connected before anything was committed: ask once for an index, so that even the first
      // commands are numbered in an epoch (an error surfaces on the command itself). Every caller
      // awaits the same promise, so sequences still follow the order of the calls.
      this.askedForIndex ??= this.status().then(
        () => undefined,
        () => undefined,
      );
      await this.askedForIndex;
    }
    this.maybeStartEpoch();
    if (this.epochUsedUp()) {
      // Half a million commands went out without a newer committed index coming back (a new
      // epoch needs one). Ask a member for one.
      await this.status();
      this.maybeStartEpoch();
      if (this.epochUsedUp())
        throw new RequestRejectedError('unavailable', 'no newer committed log index to number commands with');
    }
    while (this.spanFull()) await new Promise<void>((r) => this.spanWaiters.push(r));
    return this.nextSequence(counted);
  }

  /**
   * `takeSequence` when it need not wait, the usual case: the sequence, without a promise to
   * await; null when it must wait (use `takeSequence`).
   */
  private takeSequenceNow(counted: boolean): number | null {
    if (this.knownIndex === 0) return null;
    this.maybeStartEpoch();
    if (this.epochUsedUp() || this.spanFull()) return null;
    return this.nextSequence(counted);
  }

  /** The current epoch has no sequence left. */
  private epochUsedUp(): boolean {
    return this.epochStart > 0 && this.seq + 1 >= this.epochStart + SEQUENCE_EPOCH;
  }

  /** The next sequence would be SEQUENCE_SPAN or more above the oldest counted one in flight. */
  private spanFull(): boolean {
    const oldest = this.outstanding.values().next();
    return !oldest.done && this.seq + 1 - oldest.value >= SEQUENCE_SPAN;
  }

  private nextSequence(counted: boolean): number {
    const sequence = ++this.seq;
    if (counted) this.outstanding.add(sequence);
    return sequence;
  }

  /** Records a log index the cluster reported committed (it numbers later epochs). */
  observeIndex(index: number): void {
    if (index > this.knownIndex) this.knownIndex = index;
  }

  /**
   * Starts a new epoch, numbering from `knownIndex * SEQUENCE_EPOCH`, whenever no counted command
   * is in flight (so an idle client that the cluster forgot meanwhile is usually accepted at once;
   * when clients idle since later were forgotten too, the first command is refused and resent, see
   * `command`), and also when half of the current epoch is used or the cluster may have forgotten
   * this client.
   * A jump while commands are in flight leaves them far below, so `takeSequence` first waits for
   * them (its SEQUENCE_SPAN rule), which keeps every retry inside the servers' window.
   */
  private maybeStartEpoch(): void {
    const start = this.knownIndex * SEQUENCE_EPOCH;
    if (start <= this.seq) return;
    const due = this.epochStart === 0 || this.forgotten || this.seq - this.epochStart >= SEQUENCE_EPOCH / 2;
    if (due || this.outstanding.size === 0) {
      this.seq = start;
      this.epochStart = start;
      this.forgotten = false;
    }
  }

  private finishSequence(sequence: number): void {
    if (!this.outstanding.delete(sequence) || this.spanWaiters.length === 0) return;
    const waiters = this.spanWaiters;
    this.spanWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Sends one command (fresh sequence, reused by the channel's retries). SEQUENCE_EXPIRED for a
   * call none of whose earlier attempts can have applied (the cluster forgot this client, and its
   * epoch was older than that) is not an unknown outcome: the command is sent again, once, under a
   * new epoch.
   */
  private async command(
    cmd: CommandMessage,
    opts: { signal?: AbortSignal; deadline: number },
    renumbered = false,
  ): Promise<CommandResult> {
    const counted = this.waitFor(cmd) === 0;
    const sequence = this.takeSequenceNow(counted) ?? (await this.takeSequence(counted));
    const report = { maybeApplied: true };
    let res: ClientResponse;
    try {
      res = await this.channel.call(
        {
          clientId: this.clientId,
          sequence,
          kind: 'command',
          consistency: 'linearizable',
          payload: encodeCommandMessage(cmd),
        },
        { signal: opts.signal, deadline: opts.deadline, report },
      );
    } finally {
      this.finishSequence(sequence);
    }
    if (res.status !== 'ok') failed(res);
    this.observeIndex(res.index);
    const result = decodeResultMessage(res.payload);
    if (!result.ok && result.errorCode === 'SEQUENCE_EXPIRED') {
      // Later commands start a new epoch (numbered from the index of this answer), which the
      // cluster accepts. This one applied nowhere if no earlier attempt may have: send it again.
      this.forgotten = true;
      if (!report.maybeApplied && !renumbered) return this.command(cmd, opts, true);
      // A retry that reached the cluster after its sequence left the dedup window, or after the
      // cluster forgot this client: the first attempt may or may not have applied.
      throw new IndeterminateError(result.message);
    }
    return result;
  }

  /** The deadline a coordination command needs: its own server-side wait plus the call timeout. */
  private waitFor(cmd: CommandMessage): number {
    if (cmd.type === 'LockAcquire' && !cmd.tryOnly) return cmd.waitMs > 0 ? cmd.waitMs : FOREVER;
    if (cmd.type === 'BarrierArrive') return cmd.timeoutMs > 0 ? cmd.timeoutMs : BARRIER_TIMEOUT_MS;
    if (cmd.type === 'ElectionCampaign') return FOREVER;
    return 0;
  }

  private async proposeForCore(cmd: CommandMessage, signal?: AbortSignal): Promise<CommandResult> {
    const session = this.sessionAbort.signal;
    const waits = this.waitFor(cmd) > 0;
    try {
      return await this.command(cmd, {
        // A wait of a session given up ends with it (its grant, if any, expires with the session).
        signal: waits ? (signal ? AbortSignal.any([signal, session]) : session) : signal,
        deadline: this.deadline(undefined, this.waitFor(cmd)),
      });
    } catch (e) {
      if (waits && session.aborted && !signal?.aborted) throw session.reason;
      if (waits) {
        const withdrawn = this.withdrawWait(cmd);
        // Aborted in flight: once the server confirms the wait is withdrawn (and nothing it
        // granted is kept), the outcome is known.
        if (signal?.aborted && (await withdrawn)) throw signal.reason ?? e;
      }
      if (signal?.aborted && !(e instanceof IndeterminateError)) throw signal.reason ?? e;
      throw e;
    }
  }

  /**
   * Withdraws what a waiting command left on the server after its call ended without an answer
   * (aborted, timed out): a queued lock request (a grant that won the race is released), a barrier
   * arrival, a campaign (a leadership won meanwhile is resigned). Best effort: resolves true once
   * the server confirmed nothing of it remains.
   */
  private async withdrawWait(cmd: CommandMessage): Promise<boolean> {
    switch (cmd.type) {
      case 'LockAcquire': {
        const { sessionId, name } = cmd;
        return this.withdrawOrGiveBack(
          { type: 'LockRelease', sessionId, name, fenceToken: 0n },
          'lock',
          sessionId,
          // A handle of ours holds it: not ours to release.
          (fenceToken) => (this.held.has(name) ? null : { type: 'LockRelease', sessionId, name, fenceToken }),
        );
      }
      case 'ElectionCampaign': {
        const { sessionId, name } = cmd;
        return this.withdrawOrGiveBack(
          { type: 'ElectionResign', sessionId, name, epoch: 0n },
          'election',
          sessionId,
          (epoch) => ({ type: 'ElectionResign', sessionId, name, epoch }),
        );
      }
      case 'BarrierArrive':
        try {
          const r = await this.command(
            { type: 'BarrierLeave', sessionId: cmd.sessionId, name: cmd.name },
            { deadline: this.deadline() },
          );
          return r.ok || r.errorCode === 'NOT_ARRIVED' || r.errorCode === 'UNKNOWN_BARRIER';
        } catch {
          return false;
        }
      default:
        return false;
    }
  }

  /**
   * Withdraws a queued lock request or campaign with `cancel`. When the cancel is refused because
   * the wait was decided first (granted, elected), reads who holds `name` and gives back what the
   * session won there (`giveBack` with its fence token or epoch; null: leave it). Best effort:
   * resolves true once the server confirmed nothing of the wait remains; false when unknown (a
   * lease or session then ends it on its own).
   */
  private async withdrawOrGiveBack(
    cancel: Extract<CommandMessage, { type: 'LockRelease' | 'ElectionResign' }>,
    query: 'lock' | 'election',
    sessionId: string,
    giveBack: (token: bigint) => CommandMessage | null,
  ): Promise<boolean> {
    const deadline = this.deadline();
    try {
      if ((await this.command(cancel, { deadline })).ok) return true;
      const view = await this.read<{
        owner?: string | null;
        leader?: string | null;
        fenceToken?: string;
        epoch?: string;
      } | null>(encodeReadQuery(query, cancel.name), deadline);
      if ((view?.owner ?? view?.leader ?? null) !== sessionId) return true;
      const back = giveBack(BigInt(view?.fenceToken ?? view?.epoch ?? 0));
      return back !== null && (await this.command(back, { deadline })).ok;
    } catch {
      return false;
    }
  }

  private async read<T>(query: Uint8Array, deadline: number, signal?: AbortSignal): Promise<T> {
    const res = await this.channel.call(
      {
        clientId: this.clientId,
        sequence: 0,
        kind: 'read',
        consistency: 'linearizable',
        payload: query,
      },
      { deadline, signal },
    );
    if (res.status !== 'ok') failed(res);
    return parseJsonPayload<T>(res.payload);
  }

  /** Opens a (new) session and starts the keepalive. */
  async open(): Promise<void> {
    this.sessionN++;
    this.electedEpochs.clear();
    const sessionId = `${this.clientId}/${this.instance}/${this.sessionN}`;
    const core = new CoordinationClientCore({
      sessionId,
      propose: (cmd, signal) => this.proposeForCore(cmd, signal),
      registry: this.registry,
      clock: this.clock,
      defaultTtlMs: 10000,
      actor: this.clientId,
    });
    const sentAt = this.clock.now();
    await core.openSession(this.ttlMs, this.clientId);
    this.aliveAt = this.clock.now();
    this.sessionAbort = new AbortController();
    this.core = core;
    this.sessionId = sessionId;
    this.armSessionDeadline(sentAt);
    if (this.keepTimer === null) this.armKeepAlive();
  }

  /** Every held lock of the current session is gone (`reason`): their handles' signals abort. */
  private giveUpHeld(reason: 'session_lost' | 'released'): void {
    for (const [name, { fenceToken }] of this.held)
      this.registry.feed({
        kind: 'lock_lost',
        index: 0,
        name,
        sessionId: this.sessionId,
        requestId: '',
        fenceToken,
        reason,
      });
    this.held.clear();
  }

  private async keepAlive(): Promise<void> {
    if (this.closed || this.reopening) return;
    const core = this.core;
    const sentAt = this.clock.now();
    try {
      await core.keepAlive();
      if (core === this.core) {
        this.aliveAt = this.clock.now();
        this.armSessionDeadline(sentAt);
      }
    } catch (e) {
      if (core !== this.core) return;
      if (e instanceof CoordinationError && e.code === 'UNKNOWN_SESSION') this.sessionLost();
      // No keepalive acknowledged for a whole TTL: the session may be gone, and if the cluster
      // is gone too, no event will ever end its waits. Give it up (it expires on the cluster
      // with whatever it might be granted meanwhile) and end the waits as SESSION_LOST.
      else if (this.clock.now() - this.aliveAt > this.ttlMs) this.sessionLost();
    }
  }

  /**
   * True when an answer obtained through `core` came too late to hand out: its session was lost
   * (and maybe replaced) meanwhile, or the client is closing (the session close releases all).
   */
  private outlived(core: CoordinationClientCore | null): boolean {
    return core !== this.core || this.sessionAbort.signal.aborted || this.closing;
  }

  /** (Re)arms `sessionDeadline` for an acknowledgement of a session command sent at `sentAt`. */
  private armSessionDeadline(sentAt: number): void {
    if (this.sessionDeadline !== null) this.clock.clearTimer(this.sessionDeadline);
    const core = this.core;
    const ms = sentAt + this.ttlMs - CLOCK_DRIFT_BOUND_MS - SESSION_CHECK_INTERVAL_MS - this.clock.now();
    this.sessionDeadline = this.clock.setTimer(Math.max(0, ms), () => {
      this.sessionDeadline = null;
      if (!this.closed && !this.closing && !this.reopening && core === this.core) this.sessionLost();
    });
    (this.sessionDeadline as { unref?: () => void } | null)?.unref?.();
  }

  /**
   * The session ended on the cluster, or was given up: abort every held lock's signal, end its
   * waits, then open a new session.
   */
  private sessionLost(): void {
    const sessionId = this.sessionId;
    const lost = new CoordinationError(
      'SESSION_LOST',
      `session ${sessionId} ended or could not be kept alive`,
    );
    this.registry.failSession(sessionId, lost);
    this.sessionAbort.abort(lost);
    this.giveUpHeld('session_lost');
    this.reopening = this.open()
      .catch(() => undefined)
      .finally(() => {
        this.reopening = null;
      });
  }

  private async ready(): Promise<CoordinationClientCore> {
    if (this.closed) throw new CoordinationError('CLOSED', 'client closed');
    if (!this.opening) {
      this.opening = this.open();
      this.opening.catch(() => {
        this.opening = null; // a later call tries again
      });
    }
    await this.opening;
    if (this.reopening) await this.reopening;
    return this.core;
  }

  async put(
    key: string,
    value: Uint8Array | string,
    opts?: CallOpts & { context?: VersionVector },
  ): Promise<KvValue> {
    const r = await this.command(
      {
        type: 'KvPut',
        key,
        value: bytesOf(value),
        context: opts?.context ?? { entries: [] },
        actor: this.clientId,
      },
      { signal: opts?.signal, deadline: this.deadline(opts) },
    );
    if (!r.ok) raise(r);
    return { value: r.value, siblings: r.siblings, context: r.context };
  }

  async delete(key: string, opts?: CallOpts & { context?: VersionVector }): Promise<KvValue> {
    const r = await this.command(
      { type: 'KvDelete', key, context: opts?.context ?? { entries: [] }, actor: this.clientId },
      { signal: opts?.signal, deadline: this.deadline(opts) },
    );
    if (!r.ok) raise(r);
    return { value: r.value, siblings: r.siblings, context: r.context };
  }

  async get(key: string, opts?: CallOpts & { consistency?: ReadConsistency }): Promise<KvValue> {
    const res = await this.channel.call(
      {
        clientId: this.clientId,
        sequence: 0,
        kind: 'read',
        consistency: opts?.consistency ?? 'linearizable',
        payload: encodeReadQuery('kv', key),
      },
      { signal: opts?.signal, deadline: this.deadline(opts) },
    );
    if (res.status !== 'ok') failed(res);
    const r = decodeResultMessage(res.payload);
    if (!r.ok) raise(r);
    return { value: r.value, siblings: r.siblings, context: r.context };
  }

  async lock(
    name: string,
    opts: { ttlMs?: number; waitMs?: number; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<HeldLock> {
    let granting: CoordinationClientCore | null = null;
    const h = await this.withCallSignal(opts, 'LOCK_WAIT_TIMEOUT', `lock "${name}"`, (core, signal) => {
      granting = core;
      return core.lock(name, { ...opts, signal });
    });
    if (this.outlived(granting)) {
      // The session was lost (and maybe replaced) while the grant was being made usable: the
      // lock ends with that session on the cluster, so it is not handed out.
      void h.release().catch(() => undefined);
      throw new CoordinationError(
        'SESSION_LOST',
        `lock "${name}": the session was lost while it was granted`,
      );
    }
    const cur = this.held.get(name);
    if (cur?.fenceToken === h.fenceToken) cur.handles++;
    else this.held.set(name, { fenceToken: h.fenceToken, handles: 1 });
    h.signal.addEventListener(
      'abort',
      () => {
        // Re-entrant handles share a grant: it is held until the last of them lets go.
        const held = this.held.get(name);
        if (held?.fenceToken === h.fenceToken && --held.handles === 0) this.held.delete(name);
      },
      { once: true },
    );
    return h;
  }

  barrier(
    name: string,
    opts: { participants: number; threshold?: number; timeoutMs?: number },
  ): BarrierHandle {
    const what = `barrier "${name}"`;
    return {
      arrive: (o) => this.withCallSignal(o, 'WAIT_TIMEOUT', what, (core, s) => core.barrier(name, opts, s)),
      leave: (o) => this.withCallSignal(o, 'WAIT_TIMEOUT', what, (core, s) => core.leaveBarrier(name, s)),
    };
  }

  election(name: string): ElectionHandle {
    const self = this;
    return {
      async campaign(value, o) {
        let winner: CoordinationClientCore | null = null;
        const r = await self.withCallSignal(o, 'WAIT_TIMEOUT', `campaign "${name}"`, (core, s) => {
          winner = core;
          return core.campaign(name, bytesOf(value), s);
        });
        if (self.outlived(winner)) {
          // Won by a session since lost (or closing): that leadership ends with the session, so it
          // is not reported as won. Resign it, best effort, in case the session still lives.
          void (winner as CoordinationClientCore | null)?.resign(name, r.epoch).catch(() => undefined);
          throw new CoordinationError('SESSION_LOST', `campaign "${name}": the session was lost as it won`);
        }
        self.electedEpochs.set(name, r.epoch);
        return r;
      },
      async resign(o) {
        // Epoch 0 withdraws a candidacy that has not won (yet).
        const epoch = self.electedEpochs.get(name) ?? 0n;
        await self.withCallSignal(o, 'WAIT_TIMEOUT', `resign "${name}"`, (core, s) =>
          core.resign(name, epoch, s),
        );
        if (self.electedEpochs.get(name) === epoch) self.electedEpochs.delete(name);
      },
      async *observe(o = {}) {
        let last: string | null = null;
        while (!o.signal?.aborted && !self.closed) {
          try {
            const v = await self.read<{ leader: string | null; value: string | null; epoch: string } | null>(
              encodeReadQuery('election', name),
              self.deadline(),
              o.signal,
            );
            const key = v ? `${v.leader}|${v.epoch}` : 'none';
            if (key !== last) {
              last = key;
              yield {
                leader: v?.leader ?? null,
                value: v?.value ? new Uint8Array(Buffer.from(v.value, 'base64')) : null,
                epoch: BigInt(v?.epoch ?? 0),
              };
            }
          } catch (e) {
            if (o.signal?.aborted) return;
            throw e;
          }
          await clockSleep(self.clock, o.intervalMs ?? 100, o.signal);
        }
      },
    };
  }

  async status(opts?: CallOpts): Promise<ServerStatus> {
    const res = await this.channel.call(
      {
        clientId: this.clientId,
        sequence: 0,
        kind: 'status',
        consistency: 'stale',
        payload: new Uint8Array(0),
      },
      { signal: opts?.signal, deadline: this.deadline(opts) },
    );
    if (res.status !== 'ok') failed(res);
    const status = parseJsonPayload<ServerStatus>(res.payload);
    this.observeIndex(status.commitIndex);
    return status;
  }

  async changeMembership(cc: ConfChange, opts?: CallOpts): Promise<{ index: number }> {
    const res = await this.channel.call(
      {
        clientId: this.clientId,
        sequence: 0,
        kind: 'conf_change',
        consistency: 'linearizable',
        payload: encodeConfChange(cc),
      },
      { signal: opts?.signal, deadline: this.deadline(opts) },
    );
    if (res.status !== 'ok') failed(res);
    return { index: res.index };
  }

  async transferLeader(target: string, opts?: CallOpts): Promise<{ leaderId: string | null }> {
    const res = await this.channel.call(
      {
        clientId: this.clientId,
        sequence: 0,
        kind: 'transfer_leader',
        consistency: 'linearizable',
        payload: utf8.encode(target),
      },
      { signal: opts?.signal, deadline: this.deadline(opts) },
    );
    if (res.status !== 'ok') failed(res);
    return { leaderId: res.leaderId };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    if (this.keepTimer !== null) this.clock.clearTimer(this.keepTimer);
    this.keepTimer = null;
    if (this.sessionDeadline !== null) this.clock.clearTimer(this.sessionDeadline);
    this.sessionDeadline = null;
    // Closing gives every held lock up (the session close releases them, or the session expires):
    // their signals abort now, before another client can be granted them.
    this.giveUpHeld('released'); // the session close releases them
    // Release what the session holds, for a bounded time: an unreachable cluster must not hold
    // close() up (the session then expires on its own). Closing the channel ends the straggler.
    const grace = new AbortController();
    if (this.opening)
      await Promise.race([
        this.opening.then(() => this.core.closeSession()).catch(() => undefined),
        clockSleep(this.clock, Math.min(this.timeoutMs, CLOSE_GRACE_MS), grace.signal),
      ]);
    grace.abort();
    this.closed = true;
    if (this.keepTimer !== null) this.clock.clearTimer(this.keepTimer); // re-armed meanwhile
    this.keepTimer = null;
    await this.channel.close();
    this.onClose();
  }

  /** Internal: sends a raw command with a chosen sequence (exactly-once tests). */
  async rawCommand(cmd: CommandMessage, sequence: number, opts?: CallOpts): Promise<CommandResult> {
    const res = await this.channel.call(
      {
        clientId: this.clientId,
        sequence,
        kind: 'command',
        consistency: 'linearizable',
        payload: encodeCommandMessage(cmd),
      },
      { signal: opts?.signal, deadline: this.deadline(opts) },
    );
    if (res.status !== 'ok') failed(res);
    return decodeResultMessage(res.payload);
  }
}

/**
 * Connects to a cluster: finds the leader among `endpoints` (following redirects, retrying with
 * backoff within `timeoutMs`) and opens a coordination session.
 */
export async function connect(
  opts: ConnectOptions,
): Promise<Client & { rawCommand: ChannelClient['rawCommand'] }> {
  const endpoints = (typeof opts.endpoints === 'string' ? opts.endpoints.split(',') : [...opts.endpoints])
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (endpoints.length === 0) throw new RangeError('connect: at least one endpoint is required');
  checkDurations('connect', opts);
  const clientId = opts.clientId ?? randomUUID();
  const clock = opts.clock ?? createRealClock();
  const channel = createTcpChannel({
    endpoints,
    clusterId: opts.clusterId,
    clientId,
    tls: opts.tls,
    dialTimeoutMs: opts.dialTimeoutMs,
    clock,
  });
  const client = new ChannelClient(
    channel,
    clientId,
    randomBytes(6).toString('base64url'),
    opts.timeoutMs ?? 10000,
    opts.sessionTtlMs ?? SESSION_TTL_MS,
    clock,
  );
  try {
    await client.status(); // some member answers (the session opens on the first lock/barrier/election)
  } catch (e) {
    await channel.close();
    throw e;
  }
  return client;
}

/** Longest timer Node.js runs as asked (2^31 - 1 ms); a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Refuses durations that are not positive numbers of milliseconds a timer can hold: a session TTL
 * of 1e12 made the keepalive and session-lost timers fire at once and the client die with
 * SESSION_LOST.
 */
function checkDurations(
  prefix: string,
  opts: { timeoutMs?: number; sessionTtlMs?: number; dialTimeoutMs?: number },
): void {
  for (const name of ['timeoutMs', 'sessionTtlMs', 'dialTimeoutMs'] as const) {
    // The members refuse a longer session (MAX_SESSION_TTL_MS): say so here, not at the first lock.
    const max = name === 'sessionTtlMs' ? MAX_SESSION_TTL_MS : MAX_TIMER_MS;
    const v = opts[name];
    if (v !== undefined && !(Number.isFinite(v) && v > 0 && v <= max))
      throw new RangeError(
        `${prefix}: ${name} must be a positive number of milliseconds up to ${max}, got ${v}`,
      );
  }
}

/**
 * The embedded client (`node.client()` of the contract): the same Client, proposing in-process on
 * `node` with the coordination `replica` it runs (the node's state machine must be
 * `DedupStateMachine(replica)`: commands travel in the exactly-once envelope). Commands must reach
 * the leader: on a follower they fail with `not_leader` after the call's deadline. Its own request
 * handler (server-side waits) runs on the same clock and is closed by `close()`.
 */
export async function createEmbeddedClient(
  node: RaftNode,
  replica: CoordinationReplica,
  opts: EmbeddedClientOptions = {},
): Promise<Client> {
  checkDurations('node.client', opts);
  const clock = opts.clock ?? createRealClock();
  const handler = createRequestHandler({ node, replica, clock, addressOf: () => null });
  const client = new ChannelClient(
    createLocalChannel(handler, clock),
    opts.clientId ?? randomUUID(),
    instanceId(opts.random ?? Math.random),
    opts.timeoutMs ?? 10000,
    opts.sessionTtlMs ?? SESSION_TTL_MS,
    clock,
    () => handler.close(),
  );
  client.observeIndex(node.status().commitIndex);
  return client;
}

export type { BarrierResult, HeldLock };
