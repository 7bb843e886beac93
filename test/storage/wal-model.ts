/**
 * A model-checked random workload on the WAL + snapshot store over the simulator's
 * crashing disk. Every WAL record the workload issues is one model step; a recovered state must
 * equal the model state after some record prefix that contains every acknowledged record.
 */
import type { FileSystem } from '../../runtime/env/types.js';
import { openStorage } from '../../runtime/storage/index.js';
import type { HardState, WalEntry } from '../../runtime/storage/record.js';
import { SimDisk } from '../../sim/fs.js';
import { Prng } from '../../sim/prng.js';

export interface ModelState {
  snap: { index: number; term: number };
  /** entries after the snapshot: index -> [term, payload-tag] */
  log: Array<{ index: number; term: number; tag: string }>;
  hs: HardState;
}

function clone(s: ModelState): ModelState {
  return { snap: { ...s.snap }, log: s.log.map((e) => ({ ...e })), hs: { ...s.hs } };
}

export function show(s: ModelState): string {
  return JSON.stringify({
    snap: s.snap,
    log: s.log.map((e) => `${e.index}/${e.term}/${e.tag}`),
    hs: s.hs,
  });
}

function lastIndex(s: ModelState): number {
  const l = s.log[s.log.length - 1];
  return l ? l.index : s.snap.index;
}

function termAt(s: ModelState, i: number): number | undefined {
  if (i === s.snap.index && i > 0) return s.snap.term;
  return s.log.find((e) => e.index === i)?.term;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Wraps a fs so that the `crashAt`-th call crashes the disk (that call never happens). */
function crashingFs(
  disk: SimDisk,
  inner: FileSystem,
  ctl: {
    calls: number;
    crashAt: number;
    failAt: number;
    failOp?: string;
    crashed: boolean;
    onCrash: () => void;
  },
): FileSystem {
  const wrap =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>, name = '') =>
    (...a: A): Promise<R> => {
      if (ctl.crashed) return new Promise<R>(() => {});
      ctl.calls++;
      if (ctl.calls >= ctl.failAt && (ctl.failOp === undefined || ctl.failOp === name) && ctl.failAt > 0) {
        ctl.failAt = 0;
        return Promise.reject(Object.assign(new Error(`EIO: injected ${name}`), { code: 'EIO' }));
      }
      if (ctl.calls === ctl.crashAt) {
        ctl.crashed = true;
        disk.crash();
        ctl.onCrash();
        return new Promise<R>(() => {});
      }
      return f(...a);
    };
  const writeNow = inner.writeDurableNow;
  return {
    // Counted like the asynchronous calls: at the crash point the process dies before writing
    // (false: the write falls back to the asynchronous path, which a crashed disk never settles);
    // an injected failure is thrown, as the real one is.
    ...(writeNow && {
      writeDurableNow: (path: string, offset: number, bytes: Uint8Array): boolean => {
        if (ctl.crashed) return false;
        ctl.calls++;
        if (
          ctl.calls >= ctl.failAt &&
          (ctl.failOp === undefined || ctl.failOp === 'writeDurableNow') &&
          ctl.failAt > 0
        ) {
          ctl.failAt = 0;
          throw Object.assign(new Error('EIO: injected writeDurableNow'), { code: 'EIO' });
        }
        if (ctl.calls === ctl.crashAt) {
          ctl.crashed = true;
          disk.crash();
          ctl.onCrash();
          return false;
        }
        return writeNow(path, offset, bytes);
      },
    }),
    readFile: wrap(inner.readFile, 'readFile'),
    write: wrap(inner.write, 'write'),
    truncate: wrap(inner.truncate, 'truncate'),
    sync: wrap(inner.sync, 'sync'),
    rename: wrap(inner.rename, 'rename'),
    remove: wrap(inner.remove, 'remove'),
    list: wrap(inner.list, 'list'),
    mkdir: wrap(inner.mkdir, 'mkdir'),
    syncDir: wrap(inner.syncDir, 'syncDir'),
    size: wrap(inner.size, 'size'),
  };
}

export interface FuzzOptions {
  segmentSize?: number;
  preallocate?: 'sparse' | 'zero';
  incarnations?: number;
  opsPerIncarnation?: number;
  /** allow discarding snapshots (leader-installed) */
  leaderSnapshots?: boolean;
  /** run compaction without awaiting it (concurrently with later saves) */
  concurrentCompaction?: boolean;
  /** Raft-like log: terms never decrease along the log. */
  raftLike?: boolean;
  /** inject one EIO at a random call of this op (or any op) in each incarnation */
  inject?: boolean;
  injectOp?: string;
  /** harness self-check: acknowledge at append time (must produce failures) */
  sanityAckEarly?: boolean;
  /**
   * Half the appends go through `saveNow`, and the disk completes half the writes offered to
   * `writeDurableNow` synchronously: the WAL's synchronous save path under the same crashes.
   */
  saveNow?: boolean;
}

export const STATS = {
  segCreated: 0,
  segRemoved: 0,
  torn: 0,
  tornTail: 0,
  removedFiles: 0,
  reconciled: 0,
  crashes: 0,
};
export interface FuzzResult {
  ok: boolean;
  message?: string;
  steps: number;
  recoveries: number;
}

export async function fuzzSeed(seed: number, o: FuzzOptions = {}): Promise<FuzzResult> {
  const rnd = new Prng(`review-${seed}`);
  const disk = new SimDisk(
    new Prng(`disk-${seed}`),
    { defer: (_ms, fn) => queueMicrotask(fn) },
    { syncWriteProbability: o.saveNow ? 0.5 : 0 },
  );
  const sopts = { segmentSize: o.segmentSize ?? 4096, preallocate: o.preallocate ?? 'sparse' } as const;
  let model: ModelState = {
    snap: { index: 0, term: 0 },
    log: [],
    hs: { term: 0, votedFor: null, commit: 0 },
  };
  let tagCounter = 0;
  const G = { allowed: [clone(model)], minP: 0 };
  let recoveries = 0;
  let totalSteps = 0;
  for (let inc = 0; inc < (o.incarnations ?? 6); inc++) {
    let crashResolve: () => void = () => undefined;
    const crashP = new Promise<'crash'>((r) => {
      crashResolve = () => r('crash');
    });
    const crashAt = rnd.int(5, 400);
    const ctl = {
      calls: 0,
      crashAt,
      failAt: o.inject && inc > 0 ? rnd.int(1, crashAt) : 0,
      failOp: o.injectOp,
      crashed: false,
      onCrash: () => crashResolve(),
    };
    const fs = crashingFs(disk, disk.fileSystem(), ctl);
    // open (a crash may also hit recovery itself)
    const opened = await Promise.race([openStorage(fs, sopts), crashP]).catch((e) => e as Error);
    if (opened === 'crash') continue;
    if (opened instanceof Error && (opened as { code?: string }).code === 'EIO') {
      disk.crash();
      continue;
    }
    if (opened instanceof Error) {
      return {
        ok: false,
        message: `open failed at incarnation ${inc}: ${opened.message}`,
        steps: totalSteps,
        recoveries,
      };
    }
    const { storage, recovered } = opened;
    if (recovered.repair.tornTail) STATS.tornTail++;
    STATS.removedFiles += recovered.repair.removedFiles.length;
    recoveries++;
    // compare recovered state with the allowed states
    const got: ModelState = {
      snap: recovered.snapshot
        ? { index: recovered.snapshot.index, term: recovered.snapshot.term }
        : { index: 0, term: 0 },
      log: recovered.entries.map((e) => ({ index: e.index, term: e.term, tag: dec.decode(e.payload) })),
      hs: recovered.hardState,
    };
    if (inc > 0) {
      const allowed = G.allowed;
      const minP = G.minP;
      const gs = show(got);
      let match = -1;
      for (let p = allowed.length - 1; p >= 0; p--)
        if (show(allowed[p] as ModelState) === gs) {
          match = p;
          break;
        }
      if (match < minP) {
        return {
          ok: false,
          message:
            `incarnation ${inc}: recovered ${gs}\n matched step ${match}, but acked step ${minP}\n` +
            ` acked state: ${show(allowed[minP] as ModelState)}\n last state: ${show(allowed[allowed.length - 1] as ModelState)}`,
          steps: totalSteps,
          recoveries,
        };
      }
      model = clone(got);
    } else {
      model = clone(got);
    }
    // the workload of this incarnation
    const states: ModelState[] = [clone(model)];
    let acked = 0; // steps acknowledged
    G.allowed = states;
    G.minP = 0;
    const step = (f: (s: ModelState) => void) => {
      const s = clone(states[states.length - 1] as ModelState);
      f(s);
      states.push(s);
      return states.length - 1;
    };
    const ack = (p: number) => {
      if (p > acked) acked = p;
      G.minP = acked;
    };
    const wal = storage.wal;
    const inflight: Promise<unknown>[] = [];
    let stop = false;
    const run = async () => {
      for (let op = 0; op < (o.opsPerIncarnation ?? 60) && !stop && !ctl.crashed; op++) {
        const cur = states[states.length - 1] as ModelState;
        const r = rnd.float();
        const li = lastIndex(cur);
        const maxTerm = Math.max(cur.hs.term, ...cur.log.map((e) => e.term), cur.snap.term, 1);
        if (r < 0.55) {
          // append (maybe overwriting a suffix), with or without hard state
          let from = li + 1;
          if (rnd.chance(0.25) && li > cur.snap.index) from = rnd.int(cur.snap.index + 1, li + 1);
          const n = rnd.int(0, 6);
          if (n === 0 && !rnd.chance(0.5)) continue;
          let term = o.raftLike ? maxTerm + (from <= li ? 1 : rnd.chance(0.1) ? 1 : 0) : rnd.int(1, 5);
          if (o.raftLike && from > li) term = Math.max(term, termAt(cur, from - 1) ?? 0);
          const es: WalEntry[] = [];
          const steps: number[] = [];
          for (let k = 0; k < n; k++) {
            const tag = `t${tagCounter++}${'x'.repeat(rnd.int(0, 200))}`;
            es.push({ index: from + k, term, payload: enc.encode(tag) });
          }
          const withHs = rnd.chance(0.5) || n === 0;
          const hs: HardState = {
            term: Math.max(cur.hs.term, term),
            votedFor: rnd.chance(0.5) ? `n${rnd.int(1, 3)}` : cur.hs.votedFor,
            commit: Math.min(cur.hs.commit + rnd.int(0, 3), from - 1 + n),
          };
          // `saveNow`: durable on return (undefined), or a promise like `sync`'s.
          let saving: Promise<void> | undefined | null = null;
          try {
            if (o.saveNow && rnd.chance(0.5)) saving = wal.saveNow(es, withHs ? hs : undefined);
            else wal.append(es, withHs ? hs : undefined);
          } catch (e) {
            if (e instanceof RangeError) continue;
            throw e;
          }
          for (const e of es)
            steps.push(
              step((s) => {
                s.log = s.log.filter((x) => x.index < e.index);
                s.log.push({ index: e.index, term: e.term, tag: dec.decode(e.payload) });
              }),
            );
          if (withHs) steps.push(step((s) => (s.hs = { ...hs })));
          const last = steps[steps.length - 1] as number;
          if (o.sanityAckEarly) ack(last);
          if (saving === undefined) ack(last);
          else if (saving) {
            const p = saving.then(() => ack(last));
            if (rnd.chance(0.5)) await Promise.race([p, crashP]);
            else inflight.push(p.catch(() => undefined));
          } else if (rnd.chance(0.7)) {
            const p = wal.sync().then(() => ack(last));
            if (rnd.chance(0.5)) await Promise.race([p, crashP]);
            else inflight.push(p.catch(() => undefined));
          }
        } else if (r < 0.65) {
          if (li <= cur.snap.index) continue;
          const from = rnd.int(cur.snap.index + 1, li);
          wal.truncateSuffix(from);
          const p0 = step((s) => {
            s.log = s.log.filter((x) => x.index < from);
          });
          await Promise.race([wal.sync().then(() => ack(p0)), crashP]);
        } else if (r < 0.8) {
          // local snapshot (keeps log): first make everything durable
          await Promise.race([wal.sync(), crashP]);
          if (ctl.crashed) break;
          ack(states.length - 1);
          if (li <= cur.snap.index) continue;
          const idx = rnd.int(cur.snap.index + 1, li);
          const t = termAt(cur, idx) as number;
          const p0 = step((s) => applyMarker(s, idx, t));
          const ins = (async () => {
            try {
              await storage.snapshots.save({
                index: idx,
                term: t,
                configuration: null,
                data: enc.encode(`snap${idx}`),
              });
            } catch (e) {
              throw wal.markFailed('snapshot save', e);
            }
            await wal.markSnapshot({ index: idx, term: t });
            ack(p0);
          })();
          await Promise.race([ins, crashP]);
          if (ctl.crashed) break;
          const upto = rnd.int(Math.max(0, idx - 5), idx);
          const c = wal.compact(upto);
          if (o.concurrentCompaction) inflight.push(c.catch(() => undefined));
          else await Promise.race([c, crashP]);
        } else if (r < 0.87 && o.leaderSnapshots) {
          // snapshot from a leader that replaces the log (different term or beyond the end)
          await Promise.race([wal.sync(), crashP]);
          if (ctl.crashed) break;
          ack(states.length - 1);
          const idx = rnd.int(cur.snap.index + 1, li + 5);
          const t = maxTerm + 1;
          const pts: number[] = [];
          if (wal.lastIndex > idx) {
            wal.truncateSuffix(idx + 1);
            pts.push(step((s) => (s.log = s.log.filter((x) => x.index < idx + 1))));
          }
          pts.push(step((s) => applyMarker(s, idx, t)));
          const p = storage.installSnapshot({
            index: idx,
            term: t,
            configuration: null,
            data: enc.encode(`lsnap${idx}`),
          });
          await Promise.race([p.then(() => ack(pts[pts.length - 1] as number)), crashP]);
        } else if (r < 0.95) {
          const hs: HardState = {
            term: cur.hs.term + rnd.int(0, 1),
            votedFor: `n${rnd.int(1, 3)}`,
            commit: cur.hs.commit,
          };
          const p0 = (() => {
            wal.append([], hs);
            return step((s) => (s.hs = { ...hs }));
          })();
          await Promise.race([wal.sync().then(() => ack(p0)), crashP]);
        } else {
          await Promise.race([Promise.all(inflight.splice(0)), crashP]);
        }
      }
    };
    const res = await Promise.race([
      run().then(
        () => 'done' as const,
        (e) => e as Error,
      ),
      crashP,
    ]);
    if (res instanceof Error) {
      if (!(res.name === 'StorageFailedError'))
        return { ok: false, message: `workload error: ${res.stack}`, steps: totalSteps, recoveries };
    }
    stop = true;
    totalSteps += states.length;
    STATS.segCreated += wal.stats().segmentsCreated;
    STATS.segRemoved += wal.stats().segmentsRemoved;
    if (ctl.crashed) STATS.crashes++;
    if (!ctl.crashed) {
      // power off now (whatever is unsynced may be lost or torn)
      await Promise.race([Promise.all(inflight), new Promise((r) => setTimeout(r, 0))]);
      disk.crash();
    }
  }
  STATS.torn += disk.stats.tornWrites;
  return { ok: true, steps: totalSteps, recoveries };
}

function applyMarker(s: ModelState, idx: number, t: number): void {
  if (idx <= s.snap.index) return;
  const keep = idx <= lastIndex(s) && termAt(s, idx) === t;
  s.log = keep ? s.log.filter((e) => e.index > idx) : [];
  s.snap = { index: idx, term: t };
}
