import { describe, expect, it } from 'vitest';
import { createWorld, type SimDiskOptions } from '../../sim/index.js';

const bytes = (...xs: number[]) => new Uint8Array(xs);

/** A world with one node; `io(p)` runs the world until the operation settles. */
function setup(disk: SimDiskOptions = { tornWriteProbability: 0 }, seed: number | string = 1) {
  const w = createWorld({ seed, disk });
  let env = w.createEnv('n');
  const io = async <T>(p: Promise<T>): Promise<T> => {
    await w.run();
    return p;
  };
  const code = async (p: Promise<unknown>): Promise<string | null> => {
    try {
      await io(p);
      return null;
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
  };
  return {
    w,
    get fs() {
      return env.fs;
    },
    io,
    code,
    crash() {
      w.crash('n');
      env = w.restart('n');
    },
  };
}

describe('SimDisk: operations', () => {
  it('write/read/size/truncate: files grow as needed, holes and truncation extend with zeros', async () => {
    const { fs, io } = setup();
    expect(await io(fs.readFile('f'))).toBeNull();
    expect(await io(fs.size('f'))).toBeNull();
    await io(fs.write('f', 2, bytes(7, 8)));
    expect(await io(fs.readFile('f'))).toEqual(bytes(0, 0, 7, 8));
    await io(fs.write('f', 1, bytes(5)));
    expect(await io(fs.readFile('f'))).toEqual(bytes(0, 5, 7, 8));
    await io(fs.truncate('f', 2));
    expect(await io(fs.readFile('f'))).toEqual(bytes(0, 5));
    await io(fs.truncate('f', 3));
    expect(await io(fs.readFile('f'))).toEqual(bytes(0, 5, 0));
    expect(await io(fs.size('f'))).toBe(3);
  });

  it('the caller may reuse its buffer after write; reads return copies', async () => {
    const { fs, io } = setup();
    const buf = bytes(1, 2);
    const p = fs.write('f', 0, buf);
    buf[0] = 9;
    await io(p);
    const r = (await io(fs.readFile('f'))) as Uint8Array;
    r[1] = 9;
    expect(await io(fs.readFile('f'))).toEqual(bytes(1, 2));
  });

  it('directories: mkdir -p, list names sorted, errors carry Node-like codes', async () => {
    const { fs, io, code } = setup();
    await io(fs.mkdir('x/y'));
    await io(fs.mkdir('x/y')); // idempotent
    await io(fs.write('x/y/b', 0, bytes(1)));
    await io(fs.write('x/y/a', 0, bytes(1)));
    await io(fs.write('./x//c', 0, bytes(1)));
    expect(await io(fs.list('x/y'))).toEqual(['a', 'b']);
    expect(await io(fs.list('x'))).toEqual(['c', 'y']);
    expect(await io(fs.list('nope'))).toEqual([]);
    expect(await io(fs.list(''))).toEqual(['x']);
    expect(await code(fs.write('nodir/f', 0, bytes(1)))).toBe('ENOENT');
    expect(await code(fs.write('x', 0, bytes(1)))).toBe('EISDIR');
    expect(await code(fs.readFile('x'))).toBe('EISDIR');
    expect(await code(fs.remove('x'))).toBe('ENOTEMPTY');
    expect(await code(fs.remove('missing'))).toBe('ENOENT');
    expect(await code(fs.rename('missing', 'z'))).toBe('ENOENT');
    expect(await code(fs.sync('missing'))).toBe('ENOENT');
    expect(await code(fs.truncate('missing', 0))).toBe('ENOENT');
    expect(await code(fs.syncDir('missing'))).toBe('ENOENT');
    expect(await code(fs.mkdir('x/c'))).toBe('EEXIST');
    expect(await code(fs.list('x/c'))).toBe('ENOTDIR');
    expect(await code(fs.readFile('../etc/passwd'))).toBe('EINVAL');
    expect(await code(fs.write('f', -1, bytes(1)))).toBe('EINVAL');
    await io(fs.rename('x/c', 'x/y/a')); // replaces the target
    expect(await io(fs.list('x'))).toEqual(['y']);
    await io(fs.remove('x/y/a'));
    await io(fs.remove('x/y/b'));
    await io(fs.remove('x/y'));
    expect(await io(fs.list('x'))).toEqual([]);
  });

  it('failNext injects EIO/ENOSPC without effect, then operations work again', async () => {
    const { w, fs, io, code } = setup();
    w.disk('n').failNext('write', 'ENOSPC');
    w.disk('n').failNext('sync', 'EIO', 2);
    expect(await code(fs.write('f', 0, bytes(1)))).toBe('ENOSPC');
    expect(await io(fs.readFile('f'))).toBeNull();
    await io(fs.write('f', 0, bytes(1)));
    expect(await code(fs.sync('f'))).toBe('EIO');
    expect(await code(fs.sync('f'))).toBe('EIO');
    expect(await code(fs.sync('f'))).toBeNull();
    const err = await io(fs.rename('zz', 'f')).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ENOENT');
  });
});

describe('SimDisk: completion', () => {
  it('without latency, operations complete without running the world (a node can load state at start)', async () => {
    const w = createWorld({ seed: 1 });
    const env = w.createEnv('n');
    await env.fs.write('f', 0, bytes(1));
    await env.fs.sync('f');
    expect(await env.fs.readFile('f')).toEqual(bytes(1));
    expect(w.now()).toBe(0);
  });

  it('with latency, completion is a world event at now + latency (held while the node is paused)', async () => {
    const w = createWorld({
      seed: 1,
      disk: { opLatency: { minMs: 2, maxMs: 2 }, syncLatency: { minMs: 7, maxMs: 7 } },
    });
    const env = w.createEnv('n');
    const at: number[] = [];
    w.schedule(1, async () => {
      await env.fs.write('f', 0, bytes(1));
      at.push(w.now());
      await env.fs.sync('f');
      at.push(w.now());
      w.pause('n', 100);
      await env.fs.size('f');
      at.push(w.now());
    });
    await w.run();
    expect(at).toEqual([3, 10, 110]);
  });

  it('an operation of a crashed incarnation never settles, even without latency', async () => {
    const w = createWorld({ seed: 1 });
    const env = w.createEnv('n');
    let settled = false;
    env.fs.write('f', 0, bytes(1)).then(
      () => (settled = true),
      () => (settled = true),
    );
    w.crash('n');
    await w.run();
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    const env2 = w.restart('n');
    expect(await env2.fs.readFile('f')).toBeNull();
    env.fs.readFile('f').then(() => (settled = true));
    await w.run();
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
  });
});

describe('SimDisk: crash semantics', () => {
  it('unsynced data is lost; synced data is kept', async () => {
    const t = setup();
    await t.io(t.fs.write('f', 0, bytes(1, 2, 3)));
    await t.io(t.fs.sync('f'));
    await t.io(t.fs.syncDir(''));
    await t.io(t.fs.write('f', 3, bytes(4)));
    await t.io(t.fs.write('f', 0, bytes(9)));
    t.crash();
    expect(await t.io(t.fs.readFile('f'))).toEqual(bytes(1, 2, 3));
  });

  it('a created file whose directory was not synced is lost even if its data was synced', async () => {
    const t = setup();
    await t.io(t.fs.write('f', 0, bytes(1)));
    await t.io(t.fs.sync('f'));
    t.crash();
    expect(await t.io(t.fs.readFile('f'))).toBeNull();
    // A durable entry whose data was never synced survives empty.
    await t.io(t.fs.write('g', 0, bytes(1)));
    await t.io(t.fs.syncDir(''));
    t.crash();
    expect(await t.io(t.fs.readFile('g'))).toEqual(bytes());
  });

  it('rename without syncDir is lost on crash; with syncDir it is kept', async () => {
    const t = setup();
    await t.io(t.fs.write('tmp', 0, bytes(5)));
    await t.io(t.fs.sync('tmp'));
    await t.io(t.fs.syncDir(''));
    await t.io(t.fs.rename('tmp', 'final'));
    t.crash();
    expect(await t.io(t.fs.list(''))).toEqual(['tmp']);
    await t.io(t.fs.rename('tmp', 'final'));
    await t.io(t.fs.syncDir(''));
    t.crash();
    expect(await t.io(t.fs.list(''))).toEqual(['final']);
    expect(await t.io(t.fs.readFile('final'))).toEqual(bytes(5));
    await t.io(t.fs.remove('final'));
    t.crash();
    expect(await t.io(t.fs.list(''))).toEqual(['final']); // removal not synced
  });

  it('entries in a directory whose own creation was not synced are lost', async () => {
    const t = setup();
    await t.io(t.fs.mkdir('d'));
    await t.io(t.fs.write('d/f', 0, bytes(1)));
    await t.io(t.fs.sync('d/f'));
    await t.io(t.fs.syncDir('d'));
    t.crash();
    expect(await t.io(t.fs.list(''))).toEqual([]);
    expect(await t.io(t.fs.readFile('d/f'))).toBeNull();
  });

  it('a crash before a slow sync completes loses what it would have persisted', async () => {
    const t = setup({ tornWriteProbability: 0, syncLatency: { minMs: 10, maxMs: 10 } });
    await t.io(t.fs.write('f', 0, bytes(1)));
    await t.io(t.fs.syncDir(''));
    let done = false;
    void t.fs.sync('f').then(() => {
      done = true;
    });
    await t.w.runFor(5);
    t.crash();
    await t.w.run();
    expect(done).toBe(false);
    expect(await t.io(t.fs.readFile('f'))).toEqual(bytes());
  });

  it('the last unsynced write may survive torn: always a prefix of it (zero tail allowed) over the durable data', async () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const t = setup({ tornWriteProbability: 0.7, zeroFillProbability: 0.3 }, seed);
      await t.io(t.fs.write('f', 0, bytes(1, 1, 1, 1)));
      await t.io(t.fs.sync('f'));
      await t.io(t.fs.syncDir(''));
      await t.io(t.fs.write('f', 0, bytes(7, 7))); // overwritten by the last write: must not survive
      const last = bytes(2, 3, 4, 5, 6);
      await t.io(t.fs.write('f', 2, last));
      t.crash();
      const got = Array.from((await t.io(t.fs.readFile('f'))) as Uint8Array);
      const durable = [1, 1, 1, 1];
      const candidates: string[] = [JSON.stringify(durable)];
      for (let k = 0; k <= last.length; k++) {
        for (const zero of [false, true]) {
          const out = durable.slice();
          const end = 2 + (zero ? last.length : k);
          while (out.length < end) out.push(0);
          for (let i = 0; i < k; i++) out[2 + i] = last[i] as number;
          for (let i = k; zero && i < last.length; i++) out[2 + i] = 0;
          candidates.push(JSON.stringify(out));
        }
      }
      expect(candidates).toContain(JSON.stringify(got));
      outcomes.add(JSON.stringify(got));
      // What survived is now on disk: a second crash keeps it.
      t.crash();
      expect(Array.from((await t.io(t.fs.readFile('f'))) as Uint8Array)).toEqual(got);
    }
    expect(outcomes).toContain(JSON.stringify([1, 1, 1, 1]));
    expect(outcomes).toContain(JSON.stringify([1, 1, 2, 3, 4, 5, 6]));
    expect(outcomes.size).toBeGreaterThan(6); // strict prefixes and zero tails occur
  });
});
