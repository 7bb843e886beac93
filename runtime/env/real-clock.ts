/**
 * The production `Clock`: monotonic milliseconds from `performance.now()` and timers on Node's
 * `setTimeout`. Never wall-clock time, so NTP steps cannot move it backwards.
 */
import type { Clock, TimerHandle } from './types.js';

/** Options of `createRealClock`. */
export interface RealClockOptions {
  /** `unref` every timer so pending timers alone do not keep the process alive. Default false. */
  unref?: boolean;
}

/** A `Clock` on `performance.now()` and `setTimeout`. */
export function createRealClock(opts: RealClockOptions = {}): Clock {
  const unref = opts.unref ?? false;
  return {
    now: () => performance.now(),
    setTimer(ms: number, fn: () => void): TimerHandle {
      const t = setTimeout(fn, Number.isFinite(ms) && ms > 0 ? ms : 0);
      if (unref) t.unref();
      return t;
    },
    clearTimer(handle: TimerHandle): void {
      if (handle !== null && typeof handle === 'object') clearTimeout(handle as NodeJS.Timeout);
    },
  };
}
