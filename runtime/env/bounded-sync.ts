/**
 * A durable write (pwrite + fdatasync) that the event loop thread waits for synchronously, but
 * only up to a bound. The write runs on one helper thread per process; the loop thread blocks on a
 * futex until the helper is done, which costs one thread hand-off instead of the two thread-pool
 * round trips (and event loop turns) of `FileHandle.write` + `datasync`. A write that outlives the
 * bound is handed back to the event loop as a promise, so a hung disk no longer hangs the process:
 * timers, heartbeats, `/health` and the node's stall detection keep running.
 */
import { MessageChannel, Worker } from 'node:worker_threads';

/** Values of the helper's state word (`control[Cell.STATE]`). */
const State = {
  IDLE: 0,
  RUNNING: 1,
  DONE: 2,
  /** The loop thread stopped waiting: the helper must signal its outcome instead. */
  ABANDONED: 3,
} as const;

/** Int32 cells of the control block. */
const Cell = {
  STATE: 0,
  FD: 1,
  LENGTH: 2,
  FAILED: 3,
  /** Test gate: while 1, the helper holds a request before writing (see `holdForTest`). */
  HOLD: 4,
  /** Length of the failed write's error (JSON) in the error area. */
  ERROR_LENGTH: 5,
  /** Set by the helper when it starts a request: a request it never took may run elsewhere. */
  TAKEN: 6,
} as const;
const CONTROL_CELLS = 8;
const ERROR_AREA_BYTES = 1024;

/** How a failed write crosses threads: enough to rebuild the error the WAL inspects (`code`). */
interface ErrorInfo {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
}

// The helper thread: waits for a request, writes and syncs, leaves the outcome in shared memory,
// then either wakes a loop thread that is still waiting (DONE + notify) or, when the loop thread
// gave up waiting, becomes IDLE first and only then posts a signal: once the loop thread sees it,
// it may start the next request at once, which a later store of IDLE would overwrite.
const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync, fdatasyncSync } = require('node:fs');
const { control, offset, data, errorArea, port } = workerData;
const bytes = new Uint8Array(data);
const errorBytes = new Uint8Array(errorArea);
const encoder = new TextEncoder();
for (;;) {
  const s = Atomics.load(control, ${Cell.STATE});
  // ABANDONED is a request too: the loop thread may give up before this thread even started.
  if (s !== ${State.RUNNING} && s !== ${State.ABANDONED}) { Atomics.wait(control, ${Cell.STATE}, s); continue; }
  while (Atomics.load(control, ${Cell.HOLD}) === 1) Atomics.wait(control, ${Cell.HOLD}, 1);
  Atomics.store(control, ${Cell.TAKEN}, 1);
  let error = null;
  try {
    const fd = control[${Cell.FD}], length = control[${Cell.LENGTH}], at = offset[0];
    let done = 0;
    while (done < length) done += writeSync(fd, bytes, done, length - done, at + done);
    fdatasyncSync(fd);
  } catch (e) {
    error = { message: String(e && e.message).slice(0, 200), code: e && e.code, errno: e && e.errno, syscall: e && e.syscall };
  }
  control[${Cell.FAILED}] = error ? 1 : 0;
  if (error) control[${Cell.ERROR_LENGTH}] = encoder.encodeInto(JSON.stringify(error), errorBytes).written;
  if (Atomics.compareExchange(control, ${Cell.STATE}, ${State.RUNNING}, ${State.DONE}) === ${State.RUNNING}) {
    Atomics.notify(control, ${Cell.STATE});
  } else {
    Atomics.store(control, ${Cell.STATE}, ${State.IDLE});
    port.postMessage(null);
  }
}
`;

/** A durable write whose synchronous wait is bounded; see the module comment. */
export interface BoundedSync {
  /** Largest write it takes (bytes). */
  readonly maxBytes: number;
  /** Settles once the helper thread runs (true) or could not start (false). */
  readonly ready: Promise<boolean>;
  /**
   * True while a write that outlived its wait is still running, and while the helper thread is
   * not (yet, or any more) running: other writes must go elsewhere.
   */
  readonly busy: boolean;
  /** True while a write that outlived its wait is still running (the part of `busy` that is a write). */
  readonly writing: boolean;
  /**
   * Writes `bytes` to `fd` at `offset` and fdatasyncs `fd` on the helper thread, blocking this
   * thread for at most `waitMs`. Returns null once the data is durable, or throws the write's
   * error (with its `code`, e.g. EIO or ENOSPC). If the write is still running after `waitMs`,
   * returns a promise that settles when it ends: 'done', the write's error, or 'not-run' when the
   * helper thread died before starting it (the caller then writes another way). `fd` must stay
   * open until it settles. Requires `!busy` and `bytes.length <= maxBytes`.
   */
  writeDurable(
    fd: number,
    offset: number,
    bytes: Uint8Array,
    waitMs: number,
  ): Promise<'done' | 'not-run'> | null;
  /**
   * TEST ONLY: while held, the helper takes requests but does not start them, which is how a
   * test makes a write stall. Returns the release function.
   */
  holdForTest(): () => void;
}

/** Where the helper lives: global, so that a module loaded twice (test runners do) shares it. */
const SHARED = Symbol.for('vibee-consensus.bounded-sync.v1');

/**
 * The thread's bounded-sync helper (one thread, created on first use, never keeping the process
 * alive), or null where no helper thread can be started (e.g. Node's permission model without
 * --allow-worker). One is enough: the loop thread waits for each write before it can start another.
 */
export function boundedSync(): BoundedSync | null {
  const g = globalThis as { [SHARED]?: BoundedSync | null };
  if (g[SHARED] === undefined) {
    try {
      g[SHARED] = createBoundedSync(64 * 1024);
    } catch {
      g[SHARED] = null;
    }
  }
  return g[SHARED];
}

function rebuildError(info: ErrorInfo): Error {
  const e = new Error(info.message) as Error & { code?: string; errno?: number; syscall?: string };
  if (info.code !== undefined) e.code = info.code;
  if (info.errno !== undefined) e.errno = info.errno;
  if (info.syscall !== undefined) e.syscall = info.syscall;
  return e;
}

function createBoundedSync(maxBytes: number): BoundedSync {
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_CELLS * 4));
  const offset = new Float64Array(new SharedArrayBuffer(8));
  const data = new SharedArrayBuffer(maxBytes);
  const bytesView = new Uint8Array(data);
  const errorArea = new SharedArrayBuffer(ERROR_AREA_BYTES);
  const errorView = new Uint8Array(errorArea);
  const { port1: port, port2: helperPort } = new MessageChannel();
  const worker = new Worker(HELPER_SOURCE, {
    eval: true,
    workerData: { control, offset, data, errorArea, port: helperPort },
    transferList: [helperPort],
  });
  let pending: Promise<'done' | 'not-run'> | null = null;
  /** Settles `pending` once the helper signalled or died. */
  let settle: (() => void) | null = null;
  port.on('message', () => settle?.());
  // Neither keeps the process alive, except while a write is handed back (ref'd below).
  worker.unref();
  port.unref();
  // Not used before its thread runs (the first writes would only wait out `waitMs`), nor after it
  // failed or exited: writes then go the caller's other way.
  let online = false;
  let broken = false;
  let markReady: (ok: boolean) => void = () => undefined;
  const ready = new Promise<boolean>((r) => {
    markReady = r;
  });
  worker.once('online', () => {
    online = true;
    markReady(true);
  });
  const onBroken = () => {
    broken = true;
    markReady(false);
    settle?.();
  };
  worker.on('error', onBroken);
  worker.on('exit', onBroken);

  /** The outcome the helper left in shared memory: null, or the write's error. */
  function outcome(): Error | null {
    if (control[Cell.FAILED] !== 1) return null;
    try {
      const text = new TextDecoder().decode(errorView.subarray(0, control[Cell.ERROR_LENGTH]));
      return rebuildError(JSON.parse(text) as ErrorInfo);
    } catch {
      return rebuildError({ message: 'durable write failed', code: 'EIO' });
    }
  }

  return {
    maxBytes,
    ready,
    get busy() {
      return pending !== null || !online || broken;
    },
    get writing() {
      return pending !== null;
    },
    writeDurable(fd, at, bytes, waitMs) {
      if (pending || !online || broken) throw new Error('bounded sync is busy');
      if (bytes.length > maxBytes) throw new RangeError(`write of ${bytes.length} bytes > ${maxBytes}`);
      bytesView.set(bytes);
      control[Cell.FD] = fd;
      control[Cell.LENGTH] = bytes.length;
      control[Cell.TAKEN] = 0;
      offset[0] = at;
      Atomics.store(control, Cell.STATE, State.RUNNING);
      Atomics.notify(control, Cell.STATE);
      Atomics.wait(control, Cell.STATE, State.RUNNING, waitMs);
      const state = Atomics.compareExchange(control, Cell.STATE, State.RUNNING, State.ABANDONED);
      if (state === State.DONE) {
        const error = outcome();
        Atomics.store(control, Cell.STATE, State.IDLE);
        if (error) throw error;
        return null;
      }
      if (state !== State.RUNNING) throw new Error(`bounded sync: unexpected helper state ${state}`);
      // Still running: let the loop go on, and settle when the helper signals the outcome.
      pending = new Promise<'done' | 'not-run'>((resolve, reject) => {
        port.ref();
        settle = () => {
          settle = null;
          port.unref();
          pending = null;
          // Orders the reads below after the helper's writes (it stored IDLE before signalling).
          const state = Atomics.load(control, Cell.STATE);
          if (state !== State.IDLE) {
            // The helper died: a request it never started can run elsewhere; one it started may
            // or may not have reached the disk.
            if (Atomics.load(control, Cell.TAKEN) === 0) resolve('not-run');
            else reject(rebuildError({ message: 'bounded sync helper died during a write', code: 'EIO' }));
            return;
          }
          const error = outcome();
          if (error) reject(error);
          else resolve('done');
        };
      });
      return pending;
    },
    holdForTest() {
      Atomics.store(control, Cell.HOLD, 1);
      return () => {
        Atomics.store(control, Cell.HOLD, 0);
        Atomics.notify(control, Cell.HOLD);
      };
    },
  };
}
