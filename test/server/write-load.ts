/**
 * The write load of the real-process fault tests (kill -9, partitions) and what must hold after
 * it: one client puts `k0`, `k1`, ... in turn; afterwards every acknowledged write reads back,
 * was applied once, and every member has applied the same log with the same value per key.
 */
import { expect } from 'vitest';
import type { Client } from '../../runtime/client/client.js';
import { IndeterminateError } from '../../runtime/client/errors.js';
import { until } from '../helpers/until.js';

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

/** A running write load; see `startWriteLoad`. */
export interface WriteLoad {
  /** Acknowledged writes, key to value. */
  readonly acked: Map<string, string>;
  /** Writes attempted (keys `k0` .. `k{writes-1}`). */
  readonly writes: number;
  /** Writes whose outcome the client could not know. */
  readonly indeterminate: number;
  /** The longest wait between two acknowledgements since the last `resetGap()`, in ms. */
  readonly longestGapMs: number;
  resetGap(): void;
  /** Stops after the write in flight; rejects if the load failed otherwise than indeterminately. */
  stop(): Promise<void>;
}

/** Starts writing through `client`. */
export function startWriteLoad(client: Client): WriteLoad {
  const acked = new Map<string, string>();
  let writes = 0;
  let indeterminate = 0;
  let stopped = false;
  let last = performance.now();
  let longest = 0;
  const run = (async () => {
    while (!stopped) {
      const key = `k${writes++}`;
      try {
        await client.put(key, `v-${key}`);
        acked.set(key, `v-${key}`);
        const now = performance.now();
        longest = Math.max(longest, now - last);
        last = now;
      } catch (e) {
        if (!(e instanceof IndeterminateError)) throw e;
        indeterminate++;
      }
    }
  })();
  return {
    acked,
    get writes() {
      return writes;
    },
    get indeterminate() {
      return indeterminate;
    },
    get longestGapMs() {
      return longest;
    },
    resetGap() {
      longest = 0;
    },
    stop() {
      stopped = true;
      return run;
    },
  };
}

/**
 * After `load` stopped: every acknowledged write reads back through `client`, none was applied
 * twice (the counter of `actor`, the load client's id, in each key's version vector is 1), and
 * the members behind `perMember` (one client per member) converge to the same applied index and
 * the same value for every key.
 */
export async function expectWritesKeptAndConverged(
  load: WriteLoad,
  client: Client,
  actor: string,
  perMember: Client[],
): Promise<void> {
  for (const [k, v] of load.acked) expect(text((await client.get(k)).value)).toBe(v);
  for (let i = 0; i < load.writes; i++) {
    const { context } = await client.get(`k${i}`);
    const counter = context.entries.find((e) => e.actor === actor)?.counter;
    if (counter !== undefined) expect(Number(counter), `k${i} applied once`).toBe(1);
  }
  let applied: number[] = [];
  await until(
    'every member applying the same commit index',
    async () => {
      const sts = await Promise.all(perMember.map((c) => c.status()));
      applied = sts.map((s) => s.appliedIndex);
      return sts.every(
        (s) => s.appliedIndex === sts[0]?.commitIndex && s.commitIndex === sts[0]?.commitIndex,
      );
    },
    15_000,
  );
  expect(new Set(applied).size).toBe(1);
  for (let i = 0; i < load.writes; i++) {
    const vals = await Promise.all(
      perMember.map((c) => c.get(`k${i}`, { consistency: 'stale' }).then((r) => text(r.value))),
    );
    expect(new Set(vals).size, `k${i} differs: ${vals.join(',')}`).toBe(1);
  }
}
