/**
 * The environment a node runs in. Every source of time, randomness, network and storage reaches
 * the node through this interface (see CONTRACT.md); the protocol core itself touches none of them.
 * Production uses the real env (monotonic clock, TCP, node:fs); tests pass a simulated one and
 * thereby decide every interleaving: the same seed gives the same run.
 */

/** Opaque timer handle returned by `Clock.setTimer`. */
export type TimerHandle = unknown;

/** Monotonic time and timers. */
export interface Clock {
  /** Monotonic milliseconds (never wall-clock time). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds; returns a handle for `clearTimer`. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Cancels a timer; a no-op for a handle that already fired or was cleared. */
  clearTimer(handle: TimerHandle): void;
}

/**
 * Fire-and-forget datagrams between node ids: frames may be lost, duplicated, delayed or reordered.
 * The env maps node ids to addresses.
 */
export interface Network {
  send(to: string, frame: Uint8Array): void;
  /**
   * The handler's type is the contract's (`=> void`, so any handler fits), but a handler may
   * return `false` to say the frame is malformed (not a message of this protocol): a transport
   * with connections then closes the one it came on and counts it. The TCP network does; the
   * simulator's network has no connections and ignores the result.
   */
  onReceive(handler: (from: string, frame: Uint8Array) => void): void;
  /**
   * Optional: writes what `send` queued so far now, rather than once the current microtasks are
   * done (a transport that batches a tick's sends into one write per peer). The node calls it
   * after a Ready's messages, so that they leave before it writes its log or applies entries.
   */
  flush?(): void;
}

/**
 * A path-based file system rooted at the node's data dir. Data written is durable only after
 * `sync(path)`; creations, renames and removals only after `syncDir` of their directory. A crash
 * keeps exactly what was durable (the last unsynced write may survive torn).
 */
export interface FileSystem {
  /** The whole file, or null when it does not exist. */
  readFile(path: string): Promise<Uint8Array | null>;
  /** Writes `bytes` at `offset`, creating the file if needed (the file grows as needed). */
  write(path: string, offset: number, bytes: Uint8Array): Promise<void>;
  truncate(path: string, size: number): Promise<void>;
  /** Makes the file's data durable (fdatasync). */
  sync(path: string): Promise<void>;
  /**
   * Optional: `write` then `sync` as one operation (the WAL's hot path uses it when present). Same
   * durability contract as the two calls; an implementation may do both in one step.
   */
  writeDurable?(path: string, offset: number, bytes: Uint8Array): Promise<void>;
  /**
   * Optional: `writeDurable` on the calling thread, when the implementation can do it that way
   * right now. True once the bytes are durable; false when it did nothing (use `writeDurable`).
   * Throws the write's error.
   */
  writeDurableNow?(path: string, offset: number, bytes: Uint8Array): boolean;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Names (not paths) of the entries in `dir`; empty when the dir does not exist. */
  list(dir: string): Promise<string[]>;
  mkdir(dir: string): Promise<void>;
  /** Makes creations, renames and removals in `dir` durable. */
  syncDir(dir: string): Promise<void>;
  /** Size in bytes, or null when the file does not exist. */
  size(path: string): Promise<number | null>;
}

/** Everything a node needs from the outside world. */
export interface Env {
  clock: Clock;
  /** A number in [0, 1). */
  random(): number;
  network: Network;
  fs: FileSystem;
}
