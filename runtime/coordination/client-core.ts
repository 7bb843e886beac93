/**
 * Client core: turns high-level calls into coordination commands and command results into typed
 * outcomes. Transport-agnostic: the in-process client passes a `propose` that appends to the local
 * node's log; the TCP client (later) one that sends a `ClientRequest`.
 *
 * Contracts:
 * - Errors from the state machine become `CoordinationError` with the same stable code.
 * - A transport that cannot know whether a command applied throws `CoordinationError('INDETERMINATE')`;
 *   it is passed through, never turned into a failure.
 * - A held lock's `signal` aborts BEFORE the server-side lease can end: the local deadline is
 *   `grant seen - roundTrip + ttl - driftBound - timeStep` on the caller's monotonic clock, and at
 *   once when the apply that ends the lease is seen. `grant seen - roundTrip` is no later than the
 *   request's send. The server counts the lease in committed time from its apply, but committed
 *   time at that apply is the time of the leader's latest TimeAdvance, proposed up to one
 *   SESSION_CHECK_INTERVAL_MS (`timeStep`) earlier, possibly before the send; after it, committed
 *   time never runs faster than real time.
 */
import { SESSION_CHECK_INTERVAL_MS } from '../../generated/index.js';
import { CoordinationError } from './errors.js';
import type { KvRead } from './state-machine.js';
import type { CommandMessage, CommandResult } from './types.js';
import type { BarrierRelease, WaiterRegistry } from './waiter-registry.js';

/** Sends one command through the log and resolves with its result. */
export type Propose = (cmd: CommandMessage, signal?: AbortSignal) => Promise<CommandResult>;

/** The monotonic clock the client core needs (the contract's `env.clock`). */
export interface CoreClock {
  now(): number;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
}

/** Options of `CoordinationClientCore`. */
export interface ClientCoreOptions {
  sessionId: string;
  propose: Propose;
  registry: WaiterRegistry;
  clock: CoreClock;
  /** Clock-drift bound subtracted from leases (CLOCK_DRIFT_BOUND_MS). */
  driftBoundMs?: number;
  /**
   * How far committed time may lag the real time of a grant: the leader's TimeAdvance period
   * (SESSION_CHECK_INTERVAL_MS), also subtracted from leases.
   */
  timeStepMs?: number;
  /** Default lease (LOCK_LEASE_TIMEOUT_MS). */
  defaultTtlMs?: number;
  /** Actor id for KV writes (defaults to the session id). */
  actor?: string;
}

/** A held lock. */
export interface HeldLock {
  readonly name: string;
  readonly fenceToken: bigint;
  /** Aborts when the lock may be lost (local deadline, lease or session end seen). */
  readonly signal: AbortSignal;
  renew(): Promise<void>;
  /** Releases one level; a lock already lost (lease or session ended) releases as a no-op. Aborts `signal`. */
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The result of a barrier wait. */
export type BarrierResult = BarrierRelease;

/** Codes meaning the lock is no longer held by this session: releasing it is then a no-op. */
const GONE = new Set(['NOT_LOCK_HOLDER', 'UNKNOWN_LOCK', 'STALE_FENCE_TOKEN', 'UNKNOWN_SESSION']);

function raise(r: CommandResult): never {
  throw new CoordinationError(r.errorCode, r.message);
}

/** See module doc. */
export class CoordinationClientCore {
  private seq = 0;
  /** Per barrier name, ends this session's pending `barrier()` call there (see `leaveBarrier`). */
  private readonly barrierCalls = new Map<string, (r: BarrierResult) => void>();
  private readonly drift: number;
  private readonly timeStep: number;
  private readonly defaultTtl: number;

  constructor(private readonly o: ClientCoreOptions) {
    this.drift = o.driftBoundMs ?? 20;
    this.timeStep = o.timeStepMs ?? SESSION_CHECK_INTERVAL_MS;
    this.defaultTtl = o.defaultTtlMs ?? 10000;
  }

  private nextRequestId(): string {
    this.seq += 1;
    return `${this.o.sessionId}/${this.seq}`;
  }

  /** Opens this core's session. */
  async openSession(ttlMs = 0, clientId = this.o.sessionId): Promise<void> {
    const r = await this.o.propose({ type: 'SessionOpen', sessionId: this.o.sessionId, clientId, ttlMs });
    if (!r.ok) raise(r);
  }

  /** Keeps the session alive (call well within its TTL). */
  async keepAlive(): Promise<void> {
    const r = await this.o.propose({ type: 'SessionKeepAlive', sessionId: this.o.sessionId });
    if (!r.ok) raise(r);
  }

  /** Closes the session: everything it holds is released. */
  async closeSession(): Promise<void> {
    const r = await this.o.propose({ type: 'SessionClose', sessionId: this.o.sessionId });
    if (!r.ok) raise(r);
  }

  /** Try-lock: the held lock, or null when busy. */
  async tryLock(name: string, opts: { ttlMs?: number } = {}): Promise<HeldLock | null> {
    try {
      return await this.acquire(name, opts.ttlMs ?? 0, 0, true, undefined);
    } catch (e) {
      if (e instanceof CoordinationError && e.code === 'LOCK_BUSY') return null;
      throw e;
    }
  }

  /** Acquires a lock, waiting FIFO (server-side up to `waitMs`, 0 = until the session ends). */
  lock(
    name: string,
    opts: { ttlMs?: number; waitMs?: number; signal?: AbortSignal } = {},
  ): Promise<HeldLock> {
    return this.acquire(name, opts.ttlMs ?? 0, opts.waitMs ?? 0, false, opts.signal);
  }

  private async acquire(
    name: string,
    ttlMs: number,
    waitMs: number,
    tryOnly: boolean,
    signal: AbortSignal | undefined,
  ): Promise<HeldLock> {
    signal?.throwIfAborted();
    const requestId = this.nextRequestId();
    const wait = this.o.registry.waitLock(this.o.sessionId, requestId);
    wait.promise.catch(() => undefined); // settled through `await` below or dropped on error
    const sentAt = this.o.clock.now();
    const r = await this.proposeForWait(
      wait,
      { type: 'LockAcquire', sessionId: this.o.sessionId, name, requestId, ttlMs, waitMs, tryOnly },
      signal,
    );
    const rtt = this.o.clock.now() - sentAt;
    const ttl = ttlMs || this.defaultTtl;
    if (r.outcome === 'acquired') {
      wait.cancel();
      if (signal?.aborted) {
        // Aborted while the acquire was in flight: give the lock back, as for a grant that won
        // the race with an abort below.
        this.giveBack(name, r.fenceToken);
        throw signal.reason ?? new CoordinationError('ABORTED', 'lock wait aborted');
      }
      // The lease runs from the grant, and all the client knows of the grant's time is that it came
      // after the request went out: after a long server-side wait that bound leaves little or
      // nothing of the lease (a wait longer than the TTL would abort the lock at once). A renewal
      // counts it from the renewal instead.
      const leaseRtt =
        rtt > (ttl - this.drift - this.timeStep) / 2
          ? await this.renewFresh(name, r.fenceToken, signal)
          : rtt;
      return this.held(name, r.fenceToken, ttl, leaseRtt);
    }
    // Queued: wait for the granting apply, or give up on abort (cancel server-side, and release if
    // the grant won the race).
    const grant = await new Promise<bigint>((resolve, rejectFn) => {
      const onAbort = () => {
        this.releaseGrant(name, 0n).then((c) => {
          if (!c.ok) return; // granted first: handled by the grant branch below
          wait.cancel();
          rejectFn(signal?.reason ?? new CoordinationError('ABORTED', 'lock wait aborted'));
        }, rejectFn);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // Aborted while the acquire was in flight: the listener above will never fire.
      if (signal?.aborted) {
        signal.removeEventListener('abort', onAbort);
        onAbort();
      }
      wait.promise.then(
        (g) => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) {
            this.giveBack(name, g.fenceToken);
            rejectFn(signal.reason ?? new CoordinationError('ABORTED', 'lock wait aborted'));
          } else resolve(g.fenceToken);
        },
        (e) => {
          signal?.removeEventListener('abort', onAbort);
          // Our own cancellation ends the wait too: report the abort reason, not the cancellation.
          rejectFn(signal?.aborted ? (signal.reason ?? e) : e);
        },
      );
    });
    return this.held(name, grant, ttl, rtt);
  }

  /** Proposes the release of grant `fenceToken` of lock `name` (0n: withdraw a queued request). */
  private releaseGrant(name: string, fenceToken: bigint): Promise<CommandResult> {
    return this.o.propose({ type: 'LockRelease', sessionId: this.o.sessionId, name, fenceToken });
  }

  /** Gives a grant nobody will hold back, best effort (if the release is lost, the lease ends it). */
  private giveBack(name: string, fenceToken: bigint): void {
    void this.releaseGrant(name, fenceToken).catch(() => undefined);
  }

  /**
   * Renews a grant not yet handed out; resolves with the renewal's round trip (the lease counts
   * from its sending). On failure or abort the grant is given back (best effort) and this rejects.
   */
  private async renewFresh(
    name: string,
    fenceToken: bigint,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    // Nothing watches the grant yet (`held` subscribes after this): a loss meanwhile (the lease
    // or the session ended on the cluster) must not go unseen.
    let lostReason: string | null = null;
    const unsub = this.o.registry.onLockLost(this.o.sessionId, name, (reason, token) => {
      if (token === fenceToken) lostReason = reason;
    });
    const sentAt = this.o.clock.now();
    let r: CommandResult;
    try {
      r = await this.o.propose({ type: 'LockRenew', sessionId: this.o.sessionId, name, fenceToken }, signal);
    } catch (e) {
      if (!signal?.aborted) {
        this.giveBack(name, fenceToken);
        throw e;
      }
      // Aborted (the caller's signal or timeoutMs) during the renewal: the renewal's outcome is
      // unknown, but once the grant is given back nothing is held either way, and the call ends
      // as an abort does (with the signal's reason).
      const back = await this.releaseGrant(name, fenceToken).catch(() => null);
      throw back && (back.ok || GONE.has(back.errorCode)) ? (signal.reason ?? e) : e;
    } finally {
      unsub();
    }
    if (lostReason !== null) throw new CoordinationError('LOCK_LOST', `lock "${name}" lost: ${lostReason}`);
    if (!r.ok) {
      this.giveBack(name, fenceToken);
      raise(r);
    }
    if (signal?.aborted) {
      this.giveBack(name, fenceToken);
      throw signal.reason ?? new CoordinationError('ABORTED', 'lock wait aborted');
    }
    return this.o.clock.now() - sentAt;
  }

  private held(name: string, fenceToken: bigint, ttlMs: number, rttMs: number): HeldLock {
    const ac = new AbortController();
    const clock = this.o.clock;
    let timer: unknown = null;
    const arm = (seenAt: number) => {
      if (timer !== null) clock.clearTimer(timer);
      const ms = Math.max(0, seenAt - rttMs + ttlMs - this.drift - this.timeStep - clock.now());
      timer = clock.setTimer(ms, () =>
        ac.abort(new CoordinationError('LEASE_MAY_HAVE_EXPIRED', `lock "${name}" lease may have expired`)),
      );
    };
    arm(clock.now());
    const unsub = this.o.registry.onLockLost(this.o.sessionId, name, (reason, token) => {
      if (token === fenceToken && !ac.signal.aborted)
        ac.abort(new CoordinationError('LOCK_LOST', `lock "${name}" lost: ${reason}`));
    });
    const done = () => {
      if (timer !== null) clock.clearTimer(timer);
      timer = null;
      unsub();
    };
    ac.signal.addEventListener('abort', done, { once: true });
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      done();
      const r = await this.releaseGrant(name, fenceToken);
      if (!ac.signal.aborted) ac.abort(new CoordinationError('LOCK_RELEASED', `lock "${name}" released`));
      // Already lost (lease or session ended): nothing is held, which is what release wants.
      if (!r.ok && !GONE.has(r.errorCode)) raise(r);
    };
    return {
      name,
      fenceToken,
      signal: ac.signal,
      renew: async () => {
        const sentAt = clock.now();
        const r = await this.o.propose({ type: 'LockRenew', sessionId: this.o.sessionId, name, fenceToken });
        if (!r.ok) {
          ac.abort(new CoordinationError(r.errorCode, r.message));
          raise(r);
        }
        if (!ac.signal.aborted) arm(sentAt);
      },
      release,
      [Symbol.asyncDispose]: release,
    };
  }

  /**
   * Arrives at a barrier and resolves when it is released (satisfied, timed out or cancelled).
   * When `signal` aborts while waiting, the arrival is withdrawn (BarrierLeave) and the call
   * rejects with the abort reason; a release that won the race is returned instead.
   */
  async barrier(
    name: string,
    opts: { participants: number; threshold?: number; timeoutMs?: number },
    signal?: AbortSignal,
  ): Promise<BarrierResult> {
    signal?.throwIfAborted();
    const wait = this.o.registry.waitBarrier(name, this.o.sessionId);
    wait.promise.catch(() => undefined);
    let onLeft!: (r: BarrierResult) => void;
    const left = new Promise<BarrierResult>((resolve) => {
      onLeft = (res) => {
        wait.cancel();
        resolve(res);
      };
    });
    this.barrierCalls.set(name, onLeft);
    try {
      const r = await this.proposeForWait(
        wait,
        {
          type: 'BarrierArrive',
          sessionId: this.o.sessionId,
          name,
          participants: opts.participants,
          threshold: opts.threshold ?? 1,
          timeoutMs: opts.timeoutMs ?? 0,
        },
        signal,
      );
      if (r.outcome !== 'waiting') {
        wait.cancel();
        return { outcome: r.outcome as BarrierResult['outcome'], arrived: r.arrived, generation: r.epoch };
      }
      const withdrawn = this.onAbortWhileWaiting(signal, async () => {
        const leave = await this.o.propose({ type: 'BarrierLeave', sessionId: this.o.sessionId, name });
        return leave.ok; // not ok: released first, and `wait` has (or will have) the outcome
      });
      let res: BarrierResult;
      try {
        res = await Promise.race([wait.promise, left, withdrawn.promise]);
      } finally {
        withdrawn.dispose();
      }
      // Our own withdrawal ends the wait as `cancelled` too: report the abort reason instead.
      if (signal?.aborted && res.outcome === 'cancelled')
        throw signal.reason ?? new CoordinationError('ABORTED', 'barrier wait aborted');
      return res;
    } finally {
      if (this.barrierCalls.get(name) === onLeft) this.barrierCalls.delete(name);
    }
  }

  /**
   * For a call waiting on the cluster: when `signal` aborts, runs `cancel` (which proposes the
   * server-side withdrawal and says whether it took effect) and then rejects `promise` with the
   * abort reason. A cancel that did not take effect (the wait was decided first) leaves `promise`
   * pending, so the decided outcome wins. `dispose` stops listening.
   */
  private onAbortWhileWaiting(
    signal: AbortSignal | undefined,
    cancel: () => Promise<boolean>,
  ): { promise: Promise<never>; dispose(): void } {
    let onAbort: () => void = () => undefined;
    const promise = new Promise<never>((_, reject) => {
      onAbort = () => {
        cancel().then(
          (took) => {
            if (took) reject(signal?.reason ?? new CoordinationError('ABORTED', 'wait aborted'));
          },
          (e) => reject(e),
        );
      };
    });
    promise.catch(() => undefined);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    return { promise, dispose: () => signal?.removeEventListener('abort', onAbort) };
  }

  /**
   * Proposes `cmd` for a call that registered `wait` before proposing (the granting apply can come
   * before the proposal's own answer): drops the wait when the proposal fails or is refused.
   */
  private async proposeForWait(
    wait: { cancel(): void },
    cmd: CommandMessage,
    signal?: AbortSignal,
  ): Promise<CommandResult> {
    let r: CommandResult;
    try {
      r = await this.o.propose(cmd, signal);
    } catch (e) {
      wait.cancel();
      throw e;
    }
    if (!r.ok) {
      wait.cancel();
      raise(r);
    }
    return r;
  }

  /**
   * Leaves a barrier before it is released. A pending `barrier()` call of this session for `name`
   * resolves with outcome `cancelled` (through the registry when it sees the leave's apply; here
   * otherwise, e.g. while its arrive is still in flight), so the session may arrive again.
   */
  async leaveBarrier(name: string, signal?: AbortSignal): Promise<void> {
    const pending = this.barrierCalls.get(name); // the call this leave ends (not a later one)
    const r = await this.o.propose({ type: 'BarrierLeave', sessionId: this.o.sessionId, name }, signal);
    if (!r.ok) raise(r);
    pending?.({ outcome: 'cancelled', arrived: r.arrived, generation: r.epoch });
  }

  /**
   * Campaigns and resolves with the leadership epoch (a fence) once elected. When `signal` aborts
   * while waiting, the campaign is withdrawn and the call rejects with the abort reason; if it was
   * elected first, it resigns that leadership and rejects likewise.
   */
  async campaign(name: string, value: Uint8Array, signal?: AbortSignal): Promise<{ epoch: bigint }> {
    signal?.throwIfAborted();
    const wait = this.o.registry.waitLeadership(name, this.o.sessionId);
    wait.promise.catch(() => undefined);
    const r = await this.proposeForWait(
      wait,
      { type: 'ElectionCampaign', sessionId: this.o.sessionId, name, value },
      signal,
    );
    if (r.outcome === 'elected') {
      wait.cancel();
      return { epoch: r.epoch };
    }
    const withdrawn = this.onAbortWhileWaiting(signal, async () => {
      const w = await this.o.propose({
        type: 'ElectionResign',
        sessionId: this.o.sessionId,
        name,
        epoch: 0n,
      });
      return w.ok;
    });
    let epoch: bigint;
    try {
      epoch = (await Promise.race([wait.promise, withdrawn.promise])).epoch;
    } finally {
      withdrawn.dispose();
    }
    if (signal?.aborted) {
      // Elected while the withdrawal was on its way: give the leadership back.
      await this.resign(name, epoch).catch(() => undefined);
      throw signal.reason ?? new CoordinationError('ABORTED', 'campaign aborted');
    }
    return { epoch };
  }

  /**
   * Observes an election: yields every leadership change of `name` seen from now on (leader
   * session or null, value, epoch), in apply order, until `signal` aborts or the iterator returns.
   */
  async *observe(
    name: string,
    signal?: AbortSignal,
  ): AsyncGenerator<{ leader: string | null; value: Uint8Array | null; epoch: bigint }> {
    const queue: { leader: string | null; value: Uint8Array | null; epoch: bigint }[] = [];
    let wake: (() => void) | null = null;
    const unsub = this.o.registry.observeLeaders((e) => {
      if (e.name !== name) return;
      queue.push({ leader: e.sessionId, value: e.value, epoch: e.epoch });
      wake?.();
    });
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift() as (typeof queue)[number];
        if (signal?.aborted) return;
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = null;
      }
    } finally {
      unsub();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Resigns leadership (epoch) or withdraws a pending campaign (epoch 0n). */
  async resign(name: string, epoch: bigint, signal?: AbortSignal): Promise<void> {
    const r = await this.o.propose(
      { type: 'ElectionResign', sessionId: this.o.sessionId, name, epoch },
      signal,
    );
    if (!r.ok) raise(r);
  }

  /** Writes `value` based on `context` (from a read; empty for a blind write). */
  async put(key: string, value: Uint8Array, context: KvRead['context'] = { entries: [] }): Promise<KvRead> {
    const r = await this.o.propose({
      type: 'KvPut',
      key,
      value,
      context,
      actor: this.o.actor ?? this.o.sessionId,
    });
    if (!r.ok) raise(r);
    return { value: r.value, siblings: r.siblings, context: r.context };
  }

  /** Deletes `key` based on `context`. */
  async delete(key: string, context: KvRead['context'] = { entries: [] }): Promise<KvRead> {
    const r = await this.o.propose({
      type: 'KvDelete',
      key,
      context,
      actor: this.o.actor ?? this.o.sessionId,
    });
    if (!r.ok) raise(r);
    return { value: r.value, siblings: r.siblings, context: r.context };
  }
}
