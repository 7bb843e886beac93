/**
 * Waiter registry: turns state-machine events into resolved promises, so a pending lock, barrier
 * or campaign call completes when the apply that grants (or ends) it happens.
 *
 * Contract: register BEFORE proposing the command (the granting apply can run before the proposal's
 * own answer arrives); each registration settles at most once; events with no registration are
 * ignored. `feed` is called with every event of the local replica, in apply order (in-process:
 * `stateMachine.onEvent(e => registry.feed(e))`; remote clients receive them over the wire later).
 */
import { CoordinationError } from './errors.js';
import type { BarrierOutcome, CoordinationEvent } from './types.js';

/** A lock grant delivered by an event. */
export interface LockGrant {
  fenceToken: bigint;
  index: number;
}
/** How a barrier ended for a waiter. */
export interface BarrierRelease {
  outcome: BarrierOutcome;
  arrived: string[];
  generation: bigint;
}
/** A leadership won by a campaign. */
export interface Leadership {
  epoch: bigint;
  index: number;
}

interface Pending<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

const k = (a: string, b: string): string => `${a}\u0000${b}`;

/** See module doc. */
export class WaiterRegistry {
  private readonly locks = new Map<string, Pending<LockGrant>>();
  private readonly barriers = new Map<string, Pending<BarrierRelease>>();
  private readonly campaigns = new Map<string, Pending<Leadership>>();
  /** Per (session, lock name): one callback per live handle (re-entrant handles share a key). */
  private readonly lost = new Map<string, Set<(reason: string, token: bigint) => void>>();
  private readonly observers = new Set<
    (e: Extract<CoordinationEvent, { kind: 'election_leader' }>) => void
  >();

  /** Waits for the grant of lock request (`sessionId`, `requestId`). */
  waitLock(sessionId: string, requestId: string): { promise: Promise<LockGrant>; cancel(): void } {
    return this.register(this.locks, k(sessionId, requestId));
  }

  /** Waits for the release of the barrier generation `sessionId` arrived at. */
  waitBarrier(name: string, sessionId: string): { promise: Promise<BarrierRelease>; cancel(): void } {
    return this.register(this.barriers, k(name, sessionId));
  }

  /** Waits until `sessionId` leads election `name`. */
  waitLeadership(name: string, sessionId: string): { promise: Promise<Leadership>; cancel(): void } {
    return this.register(this.campaigns, k(name, sessionId));
  }

  /**
   * Calls `cb` once when `sessionId` loses lock `name` (lease or session expiry, release). Every
   * registered callback of that lock is called (re-entrant handles each register one); the
   * returned function removes this one only.
   */
  onLockLost(sessionId: string, name: string, cb: (reason: string, token: bigint) => void): () => void {
    const key = k(sessionId, name);
    let set = this.lost.get(key);
    if (!set) {
      set = new Set();
      this.lost.set(key, set);
    }
    set.add(cb);
    return () => {
      const cur = this.lost.get(key);
      if (!cur?.delete(cb)) return;
      if (cur.size === 0) this.lost.delete(key);
    };
  }

  /** Every leadership change of every election. */
  observeLeaders(cb: (e: Extract<CoordinationEvent, { kind: 'election_leader' }>) => void): () => void {
    this.observers.add(cb);
    return () => this.observers.delete(cb);
  }

  private register<T>(map: Map<string, Pending<T>>, key: string): { promise: Promise<T>; cancel(): void } {
    if (map.has(key))
      throw new CoordinationError('DUPLICATE_REQUEST', 'a wait with this key is already registered');
    let p!: Pending<T>;
    const promise = new Promise<T>((resolve, rejectFn) => {
      p = { resolve, reject: rejectFn };
    });
    map.set(key, p);
    return {
      promise,
      cancel: () => {
        if (map.get(key) === p) map.delete(key);
      },
    };
  }

  private settle<T>(map: Map<string, Pending<T>>, key: string, ok: T | null, err?: Error): void {
    const p = map.get(key);
    if (!p) return;
    map.delete(key);
    if (err) p.reject(err);
    else p.resolve(ok as T);
  }

  /**
   * Ends every wait of `sessionId` (lock requests, barrier arrivals, campaigns) with `err`: the
   * client gave the session up (it could not be kept alive), so no event will ever end them.
   */
  failSession(sessionId: string, err: Error): void {
    const own = (key: string, first: boolean) =>
      first ? key.startsWith(`${sessionId}\u0000`) : key.endsWith(`\u0000${sessionId}`);
    for (const [map, first] of [
      [this.locks, true],
      [this.barriers, false],
      [this.campaigns, false],
    ] as [Map<string, Pending<unknown>>, boolean][]) {
      for (const [key, p] of [...map]) {
        if (!own(key, first)) continue;
        map.delete(key);
        p.reject(err);
      }
    }
  }

  /** Feeds one event (see module doc). */
  feed(e: CoordinationEvent): void {
    switch (e.kind) {
      case 'lock_granted':
        this.settle(this.locks, k(e.sessionId, e.requestId), { fenceToken: e.fenceToken, index: e.index });
        break;
      case 'lock_wait_ended':
        this.settle(
          this.locks,
          k(e.sessionId, e.requestId),
          null,
          new CoordinationError(
            e.reason === 'wait_timeout'
              ? 'LOCK_WAIT_TIMEOUT'
              : e.reason === 'cancelled'
                ? 'LOCK_WAIT_CANCELLED'
                : 'SESSION_LOST',
            `waiting for lock "${e.name}" ended: ${e.reason}`,
          ),
        );
        break;
      case 'lock_lost': {
        const cbs = this.lost.get(k(e.sessionId, e.name));
        if (cbs) {
          this.lost.delete(k(e.sessionId, e.name));
          for (const cb of cbs) {
            try {
              cb(e.reason, e.fenceToken);
            } catch {
              /* one handle's callback must not keep the others from hearing of the loss */
            }
          }
        }
        break;
      }
      case 'barrier_released':
        for (const s of e.arrived)
          this.settle(this.barriers, k(e.name, s), {
            outcome: e.outcome,
            arrived: e.arrived,
            generation: e.generation,
          });
        break;
      case 'barrier_wait_cancelled':
        if (e.reason === 'left')
          // The session withdrew its own arrival: its wait ends, as cancelled for it.
          this.settle(this.barriers, k(e.name, e.sessionId), {
            outcome: 'cancelled',
            arrived: e.arrived,
            generation: e.generation,
          });
        else
          this.settle(
            this.barriers,
            k(e.name, e.sessionId),
            null,
            new CoordinationError('SESSION_LOST', `arrival at barrier "${e.name}" cancelled: session lost`),
          );
        break;
      case 'election_leader':
        if (e.sessionId !== null)
          this.settle(this.campaigns, k(e.name, e.sessionId), { epoch: e.epoch, index: e.index });
        for (const o of [...this.observers]) o(e);
        break;
      case 'campaign_aborted':
        this.settle(
          this.campaigns,
          k(e.name, e.sessionId),
          null,
          new CoordinationError(
            e.reason === 'session_lost' ? 'SESSION_LOST' : 'CAMPAIGN_WITHDRAWN',
            `campaign in election "${e.name}" aborted: ${e.reason}`,
          ),
        );
        break;
      default:
        break;
    }
  }
}
