/**
 * Our cluster as a `BenchTarget`: a thin adapter over the contract's `Client` (`node.client()` or
 * `await connect({ endpoints })`). Typed structurally against CONTRACT.md so it compiles before
 * the runtime client lands and keeps working as its types are refined; plugging our cluster into
 * the bench is `clientTarget(await connect({ endpoints }))`.
 */
import type { BenchLock, BenchTarget, Consistency } from './types.js';

/** A barrier handle as in the contract: `arrive()` resolves with how the barrier was released. */
export interface BarrierLike {
  arrive(): Promise<unknown>;
}

/** The part of the contract's `Client` the bench uses. */
export interface ClientLike {
  put(key: string, value: Uint8Array): Promise<unknown>;
  get(key: string, opts: { consistency: Consistency }): Promise<unknown>;
  lock(name: string, opts?: Record<string, unknown>): Promise<{ release(): Promise<unknown> }>;
  barrier?(name: string, opts: { participants: number }): BarrierLike | Promise<BarrierLike>;
  close?(): Promise<unknown> | unknown;
}

/** Options of `clientTarget`. */
export interface ClientTargetOptions {
  /** Column name (default `ours`). */
  name?: string;
  /** Extra notes for the table (cluster size, transport, fsync policy...). */
  notes?: string[];
  /** Called by `close()` after the client is closed (e.g. stop the cluster the bench started). */
  onClose?: () => Promise<void>;
  /**
   * Opens another client (another session). Our locks and barriers belong to a session, so
   * concurrent lockers or barrier participants must be distinct sessions, as `BenchTarget`
   * requires: each outstanding `lock()` / `barrier()` call borrows an idle session from a pool
   * (opened on demand with this, reused afterwards, closed by `settle()` or `close()`). Without it every call
   * goes through the main client, which is only right for one caller at a time.
   */
  newSession?: () => Promise<ClientLike>;
}

/**
 * Extracts the value bytes from whatever `get` returns: null/undefined (absent), bytes, a string,
 * or an object carrying `value` (the contract's value + version-vector context).
 */
export function valueBytes(got: unknown): Uint8Array | null {
  if (got === null || got === undefined) return null;
  if (got instanceof Uint8Array) return got;
  if (typeof got === 'string') return new TextEncoder().encode(got);
  if (typeof got === 'object' && 'value' in got) return valueBytes((got as { value: unknown }).value);
  throw new TypeError(`unexpected get() result: ${Object.prototype.toString.call(got)}`);
}

/**
 * Throws unless a barrier result reads as released because everyone arrived: a result carrying
 * `outcome`, `status` or `how` must say `satisfied` (a timeout or cancel is a failed round).
 */
export function checkBarrierOutcome(result: unknown): void {
  if (result === null || typeof result !== 'object') return;
  for (const field of ['outcome', 'status', 'how'] as const) {
    const v = (result as Record<string, unknown>)[field];
    if (typeof v === 'string' && v !== 'satisfied') throw new Error(`barrier released as ${v}`);
  }
}

/** Wraps a contract `Client` as a `BenchTarget`. */
export function clientTarget(client: ClientLike, opts: ClientTargetOptions = {}): BenchTarget {
  const idle: ClientLike[] = [];
  const opened: ClientLike[] = [];
  const borrow = async (): Promise<ClientLike> => {
    if (opts.newSession === undefined) return client;
    const c = idle.pop() ?? (await opts.newSession());
    if (!opened.includes(c)) opened.push(c);
    return c;
  };
  const giveBack = (c: ClientLike) => {
    if (c !== client) idle.push(c);
  };
  const target: BenchTarget = {
    name: opts.name ?? 'ours',
    notes: opts.notes ?? [],
    async put(key, value) {
      await client.put(key, value);
    },
    async get(key, { consistency }) {
      return valueBytes(await client.get(key, { consistency }));
    },
    async lock(name): Promise<BenchLock> {
      const c = await borrow();
      let held: { release(): Promise<unknown> };
      try {
        held = await c.lock(name);
      } catch (err) {
        giveBack(c);
        throw err;
      }
      return {
        release: async () => {
          await held.release();
          giveBack(c);
        },
      };
    },
    async settle() {
      // Only the idle ones: a session still lent out belongs to a call in progress.
      const done = idle.splice(0);
      for (const c of done) opened.splice(opened.indexOf(c), 1);
      await Promise.allSettled(done.map(async (c) => c.close?.()));
    },
    async close() {
      await Promise.allSettled(opened.map(async (c) => c.close?.()));
      await client.close?.();
      await opts.onClose?.();
    },
  };
  if (client.barrier !== undefined) {
    target.barrier = async (name, participants) => {
      const c = await borrow();
      try {
        if (c.barrier === undefined) throw new Error('session client has no barrier()');
        const b = await c.barrier(name, { participants });
        checkBarrierOutcome(await b.arrive());
      } finally {
        giveBack(c);
      }
    };
  }
  return target;
}
