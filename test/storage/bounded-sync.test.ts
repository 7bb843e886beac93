import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BoundedSync, boundedSync } from '../../runtime/env/bounded-sync.js';
import { createNodeFileSystem } from '../../runtime/env/node-fs.js';
import { until } from '../helpers/until.js';

/** Resolves once the event loop has run a timer `ms` from now (proves the loop is not blocked). */
const timerFires = (ms: number) => new Promise<number>((r) => setTimeout(() => r(performance.now()), ms));

/** The process's helper, once its thread runs. */
async function helper(): Promise<BoundedSync> {
  const sync = boundedSync();
  if (!sync) throw new Error('no bounded-sync helper in this process');
  expect(await sync.ready).toBe(true);
  return sync;
}

describe('boundedSync', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vibee-bsync-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes at the offset and syncs before returning, when the disk answers within the wait', async () => {
    const fd = openSync(join(dir, 'f'), 'w+');
    try {
      const sync = await helper();
      expect(sync.writeDurable(fd, 4, new Uint8Array([1, 2, 3]), 5_000)).toBeNull();
      expect(sync.writeDurable(fd, 0, new Uint8Array([9]), 5_000)).toBeNull();
      expect(new Uint8Array(await readFile(join(dir, 'f')))).toEqual(new Uint8Array([9, 0, 0, 0, 1, 2, 3]));
    } finally {
      closeSync(fd);
    }
  });

  it('hands a write that outlives the wait back to the event loop, which keeps running until it ends', async () => {
    const fd = openSync(join(dir, 'f'), 'w+');
    const sync = await helper();
    const release = sync.holdForTest();
    try {
      const started = performance.now();
      const running = sync.writeDurable(fd, 0, new Uint8Array([7, 7]), 20);
      const blockedFor = performance.now() - started;
      expect(running).toBeInstanceOf(Promise);
      expect(blockedFor).toBeLessThan(1_000); // the wait is bounded (20 ms asked; generous for CI)
      expect(sync.busy).toBe(true);
      expect(() => sync.writeDurable(fd, 0, new Uint8Array([1]), 20)).toThrow(/busy/);
      let settled = false;
      void running?.then(() => {
        settled = true;
      });
      await timerFires(50); // timers run while the write is held
      expect(settled).toBe(false);
      release();
      expect(await running).toBe('done');
      expect(sync.busy).toBe(false);
      expect(new Uint8Array(await readFile(join(dir, 'f')))).toEqual(new Uint8Array([7, 7]));
    } finally {
      release();
      closeSync(fd);
    }
  });

  it('stays consistent when every write is handed back and the next starts at once (2,000 writes)', async () => {
    const fd = openSync(join(dir, 'f'), 'w+');
    const sync = await helper();
    try {
      let handedBack = 0;
      for (let i = 0; i < 2000; i++) {
        const running = sync.writeDurable(fd, i * 2, new Uint8Array([i & 0xff, i >> 8]), 0);
        if (running) {
          handedBack++;
          await running;
        }
      }
      expect(handedBack).toBeGreaterThan(0);
      const got = new Uint8Array(await readFile(join(dir, 'f')));
      expect(got.length).toBe(4000);
      for (let i = 0; i < 2000; i++) expect([got[i * 2], got[i * 2 + 1]]).toEqual([i & 0xff, i >> 8]);
    } finally {
      closeSync(fd);
    }
  }, 20_000);

  it('reports the write error with its code, on both the waited and the handed-back path', async () => {
    const sync = await helper();
    const fd = openSync(join(dir, 'f'), 'w+');
    closeSync(fd); // a descriptor that is no longer open: EBADF
    expect(() => sync.writeDurable(fd, 0, new Uint8Array([1]), 5_000)).toThrow(
      expect.objectContaining({ code: 'EBADF' }),
    );
    const release = sync.holdForTest();
    const running = sync.writeDurable(fd, 0, new Uint8Array([1]), 10);
    release();
    await expect(running).rejects.toMatchObject({ code: 'EBADF' });
    expect(sync.busy).toBe(false);
  });
});

describe('createNodeFileSystem writeDurable on a stalled disk', () => {
  it('blocks the loop for at most blockingSyncWaitMs, takes the thread pool meanwhile, and loses nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vibee-bsync-fs-'));
    const fs = createNodeFileSystem(dir, { blockingSyncWaitMs: 10 });
    const sync = await helper();
    const release = sync.holdForTest();
    try {
      const stalled = fs.writeDurable?.('wal', 0, new Uint8Array([1, 1]));
      // Only once the helper holds it: both files open on the thread pool first, in either order.
      await until('the helper to hold the first write', () => sync.busy);
      const other = fs.writeDurable?.('other', 0, new Uint8Array([2])); // helper busy: thread pool
      await other;
      expect(await fs.readFile('other')).toEqual(new Uint8Array([2]));
      const closing = fs.close(); // must wait for the held write before closing its descriptor
      let closed = false;
      void closing.then(() => {
        closed = true;
      });
      await timerFires(30);
      expect(closed).toBe(false);
      release();
      await stalled;
      await closing;
      expect(await fs.readFile('wal')).toEqual(new Uint8Array([1, 1]));
    } finally {
      release();
      await fs.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('createNodeFileSystem keeps a descriptor open while the helper writes through it', () => {
  // Evicting or closing the handle of a file whose write the helper still holds must wait: a file
  // opened meanwhile could get the same descriptor number and receive the write instead.
  for (const delay of [0, 1, 2, 3, 5, 8]) {
    it(`evicting the handle ${delay} microtasks into a held write leaves the bytes in the right file`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vibee-bsync-evict-'));
      const fs = createNodeFileSystem(dir, { maxOpenHandles: 1, blockingSyncWaitMs: 10 });
      const sync = await helper();
      await fs.write('a', 0, new Uint8Array(4));
      const release = sync.holdForTest();
      let other: number | undefined;
      try {
        const held = fs.writeDurable?.('a', 0, new Uint8Array([0x41, 0x41, 0x41, 0x41]));
        let evicting: Promise<void> | undefined;
        const later = (n: number, f: () => void): void =>
          n === 0 ? f() : queueMicrotask(() => later(n - 1, f));
        later(delay, () => {
          evicting = fs.write('b', 0, new Uint8Array([0x42])); // opening b evicts a's handle
        });
        await timerFires(30);
        await evicting;
        other = openSync(join(dir, 'c'), 'w+'); // would take a's number if it had been closed
        release();
        await held;
        expect(readFileSync(join(dir, 'a'))).toEqual(Buffer.from([0x41, 0x41, 0x41, 0x41]));
        expect(readFileSync(join(dir, 'c')).length).toBe(0);
      } finally {
        release();
        if (other !== undefined) closeSync(other);
        await fs.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('createNodeFileSystem syncOnLoopThread', () => {
  it('writes and syncs on the loop thread while it says so (the helper is not involved), and hands writes to the helper otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vibee-bsync-inline-'));
    let inline = true;
    const fs = createNodeFileSystem(dir, { blockingSyncWaitMs: 10, syncOnLoopThread: () => inline });
    const sync = await helper();
    const release = sync.holdForTest();
    try {
      // The helper holds every request it gets: a write that reaches it cannot finish yet.
      const done = await Promise.race([
        fs.writeDurable?.('wal', 0, new Uint8Array([3, 4])).then(() => 'written'),
        timerFires(500).then(() => 'still held'),
      ]);
      expect(done).toBe('written');
      expect(sync.busy).toBe(false);
      expect(await fs.readFile('wal')).toEqual(new Uint8Array([3, 4]));

      inline = false; // e.g. the member became leader: the bounded wait again
      let settled = false;
      const held = fs.writeDurable?.('wal', 2, new Uint8Array([5]));
      void held?.then(() => {
        settled = true;
      });
      await until('the helper to hold the write', () => sync.busy);
      await timerFires(30);
      expect(settled).toBe(false);
      release();
      await held;
      expect(await fs.readFile('wal')).toEqual(new Uint8Array([3, 4, 5]));
    } finally {
      release();
      await fs.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('createNodeFileSystem syncOnLoopThread with a helper that is not running', () => {
  /** The process's helper replaced by `fake` while `fn` runs (boundedSync() reads this global). */
  async function withHelper(fake: BoundedSync, fn: () => Promise<void>): Promise<void> {
    const key = Symbol.for('vibee-consensus.bounded-sync.v1');
    const g = globalThis as { [key: symbol]: unknown };
    const saved = g[key];
    g[key] = fake;
    try {
      await fn();
    } finally {
      g[key] = saved;
    }
  }

  for (const state of ['starting', 'dead'] as const) {
    it(`a ${state} helper (busy, not writing) leaves the loop-thread write to the loop thread`, async () => {
      const dir = await mkdtemp(join(tmpdir(), `vibee-bsync-${state}-`));
      let helperCalls = 0;
      const fake: BoundedSync = {
        maxBytes: 64 * 1024,
        ready: Promise.resolve(state === 'starting'),
        busy: true,
        writing: false,
        writeDurable() {
          helperCalls++;
          throw new Error('bounded sync is busy');
        },
        holdForTest: () => () => {},
      };
      await withHelper(fake, async () => {
        const fs = createNodeFileSystem(dir, { syncOnLoopThread: () => true });
        try {
          await fs.writeDurable?.('wal', 0, new Uint8Array([1, 2]));
          // The synchronous form too: what a follower's WAL takes for its acknowledgement.
          expect(fs.writeDurableNow?.('wal', 2, new Uint8Array([3]))).toBe(true);
          expect(await fs.readFile('wal')).toEqual(new Uint8Array([1, 2, 3]));
          expect(helperCalls).toBe(0);
        } finally {
          await fs.close();
          await rm(dir, { recursive: true, force: true });
        }
      });
    });
  }

  it('a helper write still running keeps the loop thread off the file (two writers)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vibee-bsync-writing-'));
    const fake: BoundedSync = {
      maxBytes: 64 * 1024,
      ready: Promise.resolve(true),
      busy: true,
      writing: true,
      writeDurable() {
        throw new Error('bounded sync is busy');
      },
      holdForTest: () => () => {},
    };
    await withHelper(fake, async () => {
      const fs = createNodeFileSystem(dir, { syncOnLoopThread: () => true });
      try {
        await fs.writeDurable?.('wal', 0, new Uint8Array([1]));
        expect(fs.writeDurableNow?.('wal', 1, new Uint8Array([2]))).toBe(false);
        expect(await fs.readFile('wal')).toEqual(new Uint8Array([1]));
      } finally {
        await fs.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('createNodeFileSystem syncOnLoopThread on a slow disk', () => {
  it('after a durable write slower than blockingSyncWaitMs, writes take the bounded path until one is fast again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vibee-bsync-slow-'));
    let inline = false;
    const fs = createNodeFileSystem(dir, { blockingSyncWaitMs: 10, syncOnLoopThread: () => inline });
    const sync = await helper();
    const heldFor = async (ms: number, write: Promise<void> | undefined) => {
      const release = sync.holdForTest();
      await until('the helper to hold the write', () => sync.busy);
      await timerFires(ms);
      release();
      await write;
    };
    try {
      // A write that takes 40 ms (held on the helper): the disk now counts as slow.
      await heldFor(40, fs.writeDurable?.('wal', 0, new Uint8Array([1])));
      inline = true;
      // So the next write goes to the helper although the loop thread could take it: held, it waits.
      const release = sync.holdForTest();
      let settled = false;
      const next = fs.writeDurable?.('wal', 1, new Uint8Array([2]));
      void next?.then(() => {
        settled = true;
      });
      await until('the helper to hold the write', () => sync.busy);
      await timerFires(30);
      expect(settled).toBe(false);
      release();
      await next;
      // A fast write (not held) makes the disk fast again: the one after it runs on the loop thread,
      // even with the helper holding everything.
      await fs.writeDurable?.('wal', 2, new Uint8Array([3]));
      const hold = sync.holdForTest();
      try {
        const done = await Promise.race([
          fs.writeDurable?.('wal', 3, new Uint8Array([4])).then(() => 'written'),
          timerFires(500).then(() => 'still held'),
        ]);
        expect(done).toBe('written');
      } finally {
        hold();
      }
      expect(await fs.readFile('wal')).toEqual(new Uint8Array([1, 2, 3, 4]));
    } finally {
      await fs.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
