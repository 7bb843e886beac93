/**
 * Many pending deadlines behind one timer: the server's request handler races every proposal
 * against its request's deadline, and the TCP client every request against its timeout. A
 * `setTimer` + `clearTimer` per request (a Node Timeout object, a timer-list insert, an unenroll
 * on the reply's path) cost a few microseconds of every put on a cold cache, for a deadline that
 * almost never fires.
 *
 * One timer is armed for the earliest deadline added since it last fired. Removing a deadline
 * does not move it: when it fires it expires what is due and re-arms for the earliest left, so a
 * steady stream of requests with 10 s deadlines costs about one sweep of the pending ones per 10 s.
 */
import type { Clock, TimerHandle } from './types.js';

/** A pending deadline (opaque). */
export interface Deadline {
  readonly at: number;
}

/** The set (see module doc). */
export interface DeadlineSet {
  /** Calls `onExpire` once the clock reaches `at` (Infinity: only `expireAll` ends it), unless removed first. */
  add(at: number, onExpire: () => void): Deadline;
  /** Forgets a deadline (a no-op once it expired or was removed). */
  remove(d: Deadline): void;
  /** Expires every pending deadline now (closing), and disarms the timer. */
  expireAll(): void;
  /** Pending deadlines (for tests). */
  readonly size: number;
}

interface Entry extends Deadline {
  readonly onExpire: () => void;
}

/**
 * The longest delay armed at once: Node runs a longer `setTimeout` after 1 ms (with a warning), so
 * a deadline 30 days out (a lock wait) is reached in steps of this, re-armed by each sweep.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Options of `createDeadlineSet`. */
export interface DeadlineSetOptions {
  /**
   * `unref` the timer where the clock's handles have it (Node timers): the set's timer stays armed
   * after its deadlines were removed, until the earliest it was armed for, and must not keep the
   * process alive by itself. For owners whose pending deadlines always have something else keeping
   * the process up (a running node, a socket). Default false.
   */
  unref?: boolean;
}

/** Creates an empty set on `clock`. */
export function createDeadlineSet(clock: Clock, opts: DeadlineSetOptions = {}): DeadlineSet {
  const pending = new Set<Entry>();
  let timer: TimerHandle | null = null;
  let timerAt = Number.POSITIVE_INFINITY;

  const arm = (at: number): void => {
    if (timer !== null) clock.clearTimer(timer);
    const now = clock.now();
    const delay = Math.min(MAX_TIMER_DELAY_MS, Math.max(0, at - now));
    timerAt = now + delay;
    timer = clock.setTimer(delay, sweep);
    if (opts.unref) (timer as { unref?: () => void } | null)?.unref?.();
  };

  function sweep(): void {
    timer = null;
    timerAt = Number.POSITIVE_INFINITY;
    const now = clock.now();
    const due: Entry[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const e of pending) {
      if (e.at <= now) due.push(e);
      else if (e.at < next) next = e.at;
    }
    for (const e of due) pending.delete(e);
    if (next !== Number.POSITIVE_INFINITY) arm(next);
    for (const e of due) e.onExpire();
  }

  return {
    add(at, onExpire) {
      const e: Entry = { at, onExpire };
      pending.add(e);
      if (at < timerAt) arm(at);
      return e;
    },
    remove(d) {
      pending.delete(d as Entry);
    },
    expireAll() {
      if (timer !== null) clock.clearTimer(timer);
      timer = null;
      timerAt = Number.POSITIVE_INFINITY;
      const all = [...pending];
      pending.clear();
      for (const e of all) e.onExpire();
    },
    get size() {
      return pending.size;
    },
  };
}
