/**
 * `FenceGuard`: the resource side of fencing. A resource (a file, a row, an external service)
 * remembers the highest fence token it has accepted per resource name and rejects any request
 * carrying a lower one, so a holder that lost its lock (pause, partition, expired lease) cannot
 * overwrite the work of the next holder.
 *
 * Contract: `check(resource, token)` accepts a token >= the highest seen (equal: the same holder
 * continuing) and records it; a lower token throws `CoordinationError('STALE_FENCE_TOKEN')` and
 * records nothing.
 */
import { CoordinationError } from './errors.js';

/** Remembers the highest token per resource and rejects stale ones. */
export class FenceGuard {
  private readonly highest = new Map<string, bigint>();

  /** True when `token` would be accepted for `resource` (nothing recorded). */
  accepts(resource: string, token: bigint): boolean {
    const h = this.highest.get(resource);
    return h === undefined || token >= h;
  }

  /** Accepts and records `token`, or throws `STALE_FENCE_TOKEN` (nothing recorded). */
  check(resource: string, token: bigint): void {
    if (typeof token !== 'bigint' || token <= 0n) {
      throw new CoordinationError(
        'INVALID_ARGUMENT',
        `fence token for "${resource}" must be a positive bigint`,
      );
    }
    const h = this.highest.get(resource);
    if (h !== undefined && token < h) {
      throw new CoordinationError(
        'STALE_FENCE_TOKEN',
        `fence token ${token} for "${resource}" is stale: ${h} was already accepted`,
      );
    }
    this.highest.set(resource, token);
  }

  /** Runs `fn` only when `token` is accepted (checked first; `fn` runs synchronously after). */
  guard<T>(resource: string, token: bigint, fn: () => T): T {
    this.check(resource, token);
    return fn();
  }

  /** The highest token accepted for `resource` (0n when none). */
  highestSeen(resource: string): bigint {
    return this.highest.get(resource) ?? 0n;
  }
}
