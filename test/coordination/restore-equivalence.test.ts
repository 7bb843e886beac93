import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CommandMessage,
  type CoordinationEvent,
  type CoordinationOptions,
  CoordinationStateMachine,
} from '../../runtime/coordination/index.js';

const S = ['s1', 's2', 's3', 's4'];
const LOCKS = ['L1', 'L2'];
const BARRIERS = ['B', 'c#1', 'c#2', 'c#3'];
const ELECTIONS = ['E', 'F'];
const KEYS = ['k1', 'app/k2', 'm/k3', 'r/k4'];

const mkOptions = (delay: number): CoordinationOptions => ({
  limits: {
    lockQueueMax: 3,
    maxConcurrentLocks: 2,
    maxBarriers: 3,
    lockDelayMs: delay,
    vectorClockMaxEntries: 2,
  },
  conflictRules: [
    { prefix: 'app/', strategy: 'application_callback' },
    { prefix: 'm/', strategy: 'merge_function', merge: 'max' },
    { prefix: 'r/', strategy: 'reject' },
  ],
});

type Step = { t: string; a: number; b: number; c: number; d: number; gap: number };
const stepArb: fc.Arbitrary<Step> = fc.record({
  t: fc.constantFrom(
    'open',
    'open',
    'keep',
    'close',
    'expire',
    'time',
    'time',
    'time',
    'acquire',
    'acquire',
    'acquire',
    'release',
    'release',
    'renew',
    'cancel',
    'arrive',
    'arrive',
    'leave',
    'campaign',
    'campaign',
    'resign',
    'withdraw',
    'put',
    'put',
    'del',
    'compact',
  ),
  a: fc.nat(3),
  b: fc.nat(3),
  c: fc.nat(5),
  d: fc.nat(9),
  gap: fc.constantFrom(1, 1, 1, 2, 5),
});

function cmdOf(sm: CoordinationStateMachine, st: Step, i: number): CommandMessage {
  const s = S[st.a] as string;
  const L = LOCKS[st.b % 2] as string;
  const E = ELECTIONS[st.b % 2] as string;
  switch (st.t) {
    case 'open':
      return {
        type: 'SessionOpen',
        sessionId: s,
        clientId: 'c',
        ttlMs: [0, 300, 700, 2000, 50, 100][st.c] as number,
      };
    case 'keep':
      return { type: 'SessionKeepAlive', sessionId: s };
    case 'close':
      return { type: 'SessionClose', sessionId: s };
    case 'expire':
      return { type: 'SessionExpire', sessionId: s };
    case 'time':
      return { type: 'TimeAdvance', elapsedMs: [0, 50, 100, 250, 1000, 5000][st.c] as number };
    case 'acquire':
      return {
        type: 'LockAcquire',
        sessionId: s,
        name: L,
        requestId: `r${i}`,
        ttlMs: [0, 50, 100, 200, 500, 3000][st.c] as number,
        waitMs: [0, 0, 60, 400][st.d % 4] as number,
        tryOnly: st.d === 9,
      };
    case 'release':
    case 'renew': {
      const cur = sm.lock(L)?.fenceToken ?? 1n;
      const fenceToken = st.d < 7 ? cur : cur - 1n;
      return {
        type: st.t === 'release' ? 'LockRelease' : 'LockRenew',
        sessionId: s,
        name: L,
        fenceToken,
      } as CommandMessage;
    }
    case 'cancel':
      return { type: 'LockRelease', sessionId: s, name: L, fenceToken: 0n };
    case 'arrive':
      return {
        type: 'BarrierArrive',
        sessionId: s,
        name: BARRIERS[st.b] as string,
        participants: [1, 2, 3, 4, 5, 3][st.c] as number,
        threshold: [1, 0.5, 0.75, 1, 0.34, 1, 1, 0.5, 1, 1][st.d] as number,
        timeoutMs: [0, 100, 400, 1000, 50, 300][st.c] as number,
      };
    case 'leave':
      return { type: 'BarrierLeave', sessionId: s, name: BARRIERS[st.b] as string };
    case 'campaign':
      return { type: 'ElectionCampaign', sessionId: s, name: E, value: new Uint8Array([st.a]) };
    case 'resign':
      return { type: 'ElectionResign', sessionId: s, name: E, epoch: sm.election(E)?.epoch ?? 1n };
    case 'withdraw':
      return { type: 'ElectionResign', sessionId: s, name: E, epoch: 0n };
    case 'compact':
      return {
        type: 'KvCompact',
        appliedFloor: Math.max(sm.appliedIndex - st.c * 3, 0),
      };
    default: {
      const key = KEYS[st.b] as string;
      const context = st.d < 6 ? sm.kvGet(key).context : { entries: [] };
      const actor = `a${st.a}`;
      return st.t === 'put'
        ? { type: 'KvPut', key, value: new TextEncoder().encode(String(st.c)), context, actor }
        : { type: 'KvDelete', key, context, actor };
    }
  }
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const jsonish = (x: unknown) =>
  JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v));

/**
 * Every kind of coordination command, random gaps between log indexes, lock delays of 0 and
 * 300 ms, small limits: a machine restored from its own snapshot at 0-4 random points must give
 * the same results, events and final snapshot bytes as one that applied everything straight
 * through. Fence tokens and election epochs strictly increase per name; no barrier generation is
 * released twice. 150 runs per case by default; COORD_FUZZ_RUNS=8000 for a long run.
 */
describe('coordination machine: restore anywhere == straight replay', () => {
  for (const delay of [0, 300]) {
    it(`results, events and snapshots agree; tokens and epochs increase (lock delay ${delay} ms)`, () => {
      fc.assert(
        fc.property(
          fc.array(stepArb, { minLength: 30, maxLength: 150 }),
          fc.array(fc.nat(), { maxLength: 4 }),
          (steps, cutsRaw) => {
            const opts = mkOptions(delay);
            const all: Step[] = [
              ...S.map((_, a): Step => ({ t: 'open', a, b: 0, c: 0, d: 0, gap: 1 })),
              ...steps,
            ];
            const cuts = new Set(cutsRaw.map((c) => c % all.length));
            const a = new CoordinationStateMachine(opts);
            let b = new CoordinationStateMachine(opts);
            const evA: CoordinationEvent[] = [];
            const evB: CoordinationEvent[] = [];
            a.onEvent((e) => evA.push(e));
            b.onEvent((e) => evB.push(e));
            const lastTok = new Map<string, bigint>();
            const lastEp = new Map<string, bigint>();
            const released = new Set<string>();
            const tok = (n: string, t: bigint, why: string) => {
              const prev = lastTok.get(n) ?? 0n;
              if (t <= prev) throw new Error(`token for ${n} not increasing: ${prev} -> ${t} (${why})`);
              lastTok.set(n, t);
            };
            const ep = (n: string, t: bigint, why: string) => {
              const prev = lastEp.get(n) ?? 0n;
              if (t <= prev) throw new Error(`epoch for ${n} not increasing: ${prev} -> ${t} (${why})`);
              lastEp.set(n, t);
            };
            let index = 0;
            for (const [i, st] of all.entries()) {
              if (cuts.has(i)) {
                const nb = new CoordinationStateMachine(opts);
                nb.restore(b.snapshot());
                expect(same(nb.snapshot(), b.snapshot())).toBe(true);
                nb.onEvent((e) => evB.push(e));
                b = nb;
              }
              index += st.gap;
              const cmd = cmdOf(a, st, i);
              evA.length = 0;
              evB.length = 0;
              const ra = a.applyCommand(cmd, index);
              const rb = b.applyCommand(cmd, index);
              expect(jsonish(rb)).toBe(jsonish(ra));
              expect(jsonish(evB)).toBe(jsonish(evA));
              for (const e of evA) {
                if (e.kind === 'lock_granted') tok(e.name, e.fenceToken, `grant@${index}`);
                if (e.kind === 'election_leader' && e.sessionId !== null)
                  ep(e.name, e.epoch, `leader@${index}`);
                if (e.kind === 'barrier_released') {
                  const k = `${e.name}@${e.generation}`;
                  if (released.has(k)) throw new Error(`released twice ${k}`);
                  released.add(k);
                }
              }
              if (cmd.type === 'LockAcquire' && ra.ok && ra.outcome === 'acquired' && ra.position === 1)
                tok(cmd.name, ra.fenceToken, `acquire@${index}`);
            }
            expect(same(a.snapshot(), b.snapshot())).toBe(true);
            for (const k of KEYS) expect(jsonish(b.kvGet(k))).toBe(jsonish(a.kvGet(k)));
          },
        ),
        { numRuns: Number(process.env.COORD_FUZZ_RUNS ?? 150) },
      );
    });
  }
});
