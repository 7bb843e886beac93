/**
 * Model test of the simulated disk: random operation sequences with crashes, compared after every
 * step against a small reference model of volatile and durable state.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.js';

type MInode = { data: number[]; durable: number[]; last: { off: number; bytes: number[] } | null };
type MEntry = MInode | 'dir';

const parent = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const FILES = ['a', 'b', 'd/a', 'd/b', 'e/x'];
const DIRS = ['', 'd', 'e'];

class Model {
  vol = new Map<string, MEntry>([['d', 'dir']]);
  dur = new Map<string, MEntry>([['d', 'dir']]);

  private file(p: string): MInode | string {
    const e = this.vol.get(p);
    if (!e) return 'ENOENT';
    if (e === 'dir') return 'EISDIR';
    return e;
  }
  private children(ns: Map<string, MEntry>, d: string) {
    return [...ns.keys()].filter((p) => parent(p) === d);
  }
  write(p: string, off: number, bytes: number[]): string | null {
    const e = this.vol.get(p);
    if (e === 'dir') return 'EISDIR';
    let ino = e;
    if (!ino) {
      if (parent(p) !== '' && this.vol.get(parent(p)) !== 'dir') return 'ENOENT';
      ino = { data: [], durable: [], last: null };
      this.vol.set(p, ino);
    }
    while (ino.data.length < off + bytes.length) ino.data.push(0);
    bytes.forEach((b, i) => {
      (ino as MInode).data[off + i] = b;
    });
    ino.last = { off, bytes };
    return null;
  }
  truncate(p: string, n: number): string | null {
    const ino = this.file(p);
    if (typeof ino === 'string') return ino;
    ino.data.length = Math.min(ino.data.length, n);
    while (ino.data.length < n) ino.data.push(0);
    return null;
  }
  sync(p: string): string | null {
    if (this.vol.get(p) === 'dir') return this.syncDir(p);
    const ino = this.file(p);
    if (typeof ino === 'string') return ino;
    ino.durable = ino.data.slice();
    ino.last = null;
    return null;
  }
  rename(f: string, t: string): string | null {
    const ino = this.file(f);
    if (typeof ino === 'string') return ino;
    if (f === t) return null;
    if (this.vol.get(t) === 'dir') return 'EISDIR';
    if (parent(t) !== '' && this.vol.get(parent(t)) !== 'dir') return 'ENOENT';
    this.vol.delete(f);
    this.vol.set(t, ino);
    return null;
  }
  remove(p: string): string | null {
    const e = this.vol.get(p);
    if (!e) return 'ENOENT';
    if (e === 'dir' && this.children(this.vol, p).length > 0) return 'ENOTEMPTY';
    this.vol.delete(p);
    return null;
  }
  mkdir(d: string): string | null {
    if (d === '') return null;
    const e = this.vol.get(d);
    if (e && e !== 'dir') return 'EEXIST';
    this.vol.set(d, 'dir');
    return null;
  }
  syncDir(d: string): string | null {
    if (d !== '') {
      const e = this.vol.get(d);
      if (!e) return 'ENOENT';
      if (e !== 'dir') return 'ENOTDIR';
    }
    for (const p of this.children(this.dur, d)) this.dur.delete(p);
    for (const p of this.children(this.vol, d)) this.dur.set(p, this.vol.get(p) as MEntry);
    return null;
  }
  /** Crash: keep durable entries under durable dirs; `observe` reports the actual file content,
   * which must be the durable data or it plus a prefix of the last write (optionally zero tail). */
  crash(observe: (p: string) => number[] | null): void {
    const next = new Map<string, MEntry>();
    const seen = new Set<MInode>();
    for (const [p, e] of this.dur) {
      let ok = true;
      for (let q = parent(p); q !== ''; q = parent(q)) if (this.dur.get(q) !== 'dir') ok = false;
      if (!ok) continue;
      next.set(p, e);
      if (e === 'dir' || seen.has(e)) continue;
      seen.add(e);
      const got = observe(p);
      expect(got, `file ${p} must survive`).not.toBeNull();
      expect(
        allowed(e).map((c) => JSON.stringify(c)),
        `content of ${p}`,
      ).toContain(JSON.stringify(got));
      e.data = (got as number[]).slice();
      e.durable = e.data.slice();
      e.last = null;
    }
    this.vol = next;
    this.dur = new Map(next);
  }
  read(p: string): number[] | null | string {
    const e = this.vol.get(p);
    if (!e) return null;
    if (e === 'dir') return 'EISDIR';
    return e.data;
  }
  list(d: string): string[] {
    const e = d === '' ? 'dir' : this.vol.get(d);
    if (e !== 'dir') return [];
    return this.children(this.vol, d)
      .map((p) => p.slice(p.lastIndexOf('/') + 1))
      .sort();
  }
}

function allowed(ino: MInode): number[][] {
  const out = [ino.durable];
  const w = ino.last;
  if (!w) return out;
  for (let k = 0; k <= w.bytes.length; k++) {
    for (const zero of [false, true]) {
      const d = ino.durable.slice();
      const end = w.off + (zero ? w.bytes.length : k);
      while (d.length < end) d.push(0);
      for (let i = 0; i < k; i++) d[w.off + i] = w.bytes[i] as number;
      for (let i = k; zero && i < w.bytes.length; i++) d[w.off + i] = 0;
      out.push(d);
    }
  }
  return out;
}

type Op =
  | { op: 'write'; p: string; off: number; bytes: number[] }
  | { op: 'truncate'; p: string; n: number }
  | { op: 'sync' | 'remove'; p: string }
  | { op: 'rename'; p: string; t: string }
  | { op: 'mkdir' | 'syncDir'; p: string }
  | { op: 'crash' };

const file = fc.constantFrom(...FILES);
const dir = fc.constantFrom(...DIRS);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      p: file,
      off: fc.nat(6),
      bytes: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 5 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), p: file, n: fc.nat(8) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('sync' as const, 'remove' as const), p: file }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rename' as const), p: file, t: file }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mkdir' as const), p: dir }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('syncDir' as const), p: dir }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), p: fc.constantFrom('d', 'e') }) },
  { weight: 2, arbitrary: fc.constant({ op: 'crash' as const }) },
);

describe('SimDisk model test', () => {
  it('matches the reference model of volatile and durable state across random ops and crashes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.array(opArb, { minLength: 10, maxLength: 40, size: 'max' }),
        async (seed, ops) => {
          const w = createWorld({ seed, disk: { tornWriteProbability: 0.5, zeroFillProbability: 0.3 } });
          let env = w.createEnv('n');
          const io = async <T>(p: Promise<T>): Promise<T> => {
            await w.run();
            return p;
          };
          const code = (p: Promise<unknown>) =>
            io(p).then(
              () => null,
              (e) => (e as { code: string }).code,
            );
          await io(env.fs.mkdir('d'));
          await io(env.fs.syncDir(''));
          const m = new Model();
          for (const o of ops) {
            let got: string | null = null;
            let want: string | null = null;
            switch (o.op) {
              case 'write':
                want = m.write(o.p, o.off, o.bytes);
                got = await code(env.fs.write(o.p, o.off, new Uint8Array(o.bytes)));
                break;
              case 'truncate':
                want = m.truncate(o.p, o.n);
                got = await code(env.fs.truncate(o.p, o.n));
                break;
              case 'sync':
              case 'remove':
              case 'mkdir':
              case 'syncDir':
                want = m[o.op](o.p);
                got = await code(env.fs[o.op](o.p));
                break;
              case 'rename':
                want = m.rename(o.p, o.t);
                got = await code(env.fs.rename(o.p, o.t));
                break;
              case 'crash': {
                w.crash('n');
                env = w.restart('n');
                const disk = w.disk('n');
                m.crash((p) => {
                  const c = disk.peek(p);
                  return c ? Array.from(c) : null;
                });
                break;
              }
            }
            expect(got, JSON.stringify(o)).toBe(want);
            for (const p of FILES) {
              const r = await io(env.fs.readFile(p));
              expect(r ? Array.from(r) : null, `${p} after ${JSON.stringify(o)}`).toEqual(m.read(p));
            }
            for (const d of DIRS) expect(await io(env.fs.list(d)), `list ${d}`).toEqual(m.list(d));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
