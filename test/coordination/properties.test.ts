import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeResultMessage, encodeCommandMessage } from '../../generated/index.js';
import {
  type CommandMessage,
  type CoordinationEvent,
  type CoordinationOptions,
  CoordinationStateMachine,
  createCoordinationReplica,
} from '../../runtime/coordination/index.js';

const S = ['s1', 's2', 's3'];
const LOCKS = ['L1', 'L2', 'L3'];
const BARRIERS = ['B', 'c#1', 'c#2'];
const KEYS = ['k1', 'app/k2', 'm/k3'];

const OPTIONS: CoordinationOptions = {
  limits: {
    lockQueueMax: 2,
    maxConcurrentLocks: 2,
    maxBarriers: 2,
    lockDelayMs: 300,
    vectorClockMaxEntries: 2,
  },
  conflictRules: [
    { prefix: 'app/', strategy: 'application_callback' },
    { prefix: 'm/', strategy: 'merge_function', merge: 'max' },
  ],
};

/** Abstract steps; tokens, epochs and contexts are resolved against the machine at apply time. */
type Step =
  | { t: 'open' | 'keep' | 'close' | 'expire'; s: number; ttl: number }
  | { t: 'time'; ms: number }
  | { t: 'acquire'; s: number; l: number; ttl: number; wait: number; tryOnly: boolean }
  | { t: 'release' | 'renew'; s: number; l: number; tok: 'current' | 'stale' | 'zero' }
  | { t: 'arrive'; s: number; b: number; n: number; th: number; timeout: number }
  | { t: 'leave'; s: number; b: number }
  | { t: 'campaign'; s: number }
  | { t: 'resign'; s: number; current: boolean }
  | { t: 'put' | 'del'; k: number; v: number; fresh: boolean; actor: number }
  | { t: 'compact'; floor: number };

const i3 = fc.integer({ min: 0, max: 2 });
const rawStepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    t: fc.constantFrom('open', 'open', 'keep', 'keep', 'close', 'expire'),
    s: i3,
    ttl: fc.constantFrom(0, 800, 3000),
  }),
  fc.record({ t: fc.constant('time'), ms: fc.constantFrom(0, 100, 400, 1000, 5000) }),
  {
    arbitrary: fc.record({
      t: fc.constant('acquire'),
      s: i3,
      l: i3,
      ttl: fc.constantFrom(0, 500, 2000),
      wait: fc.constantFrom(0, 700),
      tryOnly: fc.boolean(),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constantFrom('release', 'renew'),
      s: i3,
      l: i3,
      tok: fc.constantFrom('current', 'current', 'stale', 'zero'),
    }),
    weight: 3,
  },
  fc.record({
    t: fc.constant('arrive'),
    s: i3,
    b: i3,
    n: fc.integer({ min: 0, max: 3 }),
    th: fc.constantFrom(1, 0.5, 0, 2),
    timeout: fc.constantFrom(0, 600),
  }),
  fc.record({ t: fc.constant('leave'), s: i3, b: i3 }),
  fc.record({ t: fc.constant('campaign'), s: i3 }),
  fc.record({ t: fc.constant('resign'), s: i3, current: fc.boolean() }),
  fc.record({
    t: fc.constantFrom('put', 'del'),
    k: i3,
    v: fc.integer({ min: 0, max: 9 }),
    fresh: fc.boolean(),
    actor: i3,
  }),
  fc.record({ t: fc.constant('compact'), floor: fc.nat(120) }),
) as fc.Arbitrary<Step>;

/** Each run starts with the three sessions open (otherwise most commands would hit UNKNOWN_SESSION). */
const stepsArb = (maxLength: number, minLength = 0): fc.Arbitrary<Step[]> =>
  fc
    .array(rawStepArb, { maxLength, minLength: Math.max(minLength, Math.floor(maxLength / 2)) })
    .map((steps) => [...S.map((_, s): Step => ({ t: 'open', s, ttl: 0 })), ...steps]);

function toCommand(sm: CoordinationStateMachine, st: Step, i: number): CommandMessage {
  const sid = (n: number) => S[n] as string;
  switch (st.t) {
    case 'open':
      return { type: 'SessionOpen', sessionId: sid(st.s), clientId: 'c', ttlMs: st.ttl };
    case 'keep':
      return { type: 'SessionKeepAlive', sessionId: sid(st.s) };
    case 'close':
      return { type: 'SessionClose', sessionId: sid(st.s) };
    case 'expire':
      return { type: 'SessionExpire', sessionId: sid(st.s) };
    case 'time':
      return { type: 'TimeAdvance', elapsedMs: st.ms };
    case 'acquire':
      return {
        type: 'LockAcquire',
        sessionId: sid(st.s),
        name: LOCKS[st.l] as string,
        requestId: `r${i}`,
        ttlMs: st.ttl,
        waitMs: st.wait,
        tryOnly: st.tryOnly,
      };
    case 'release':
    case 'renew': {
      const cur = sm.lock(LOCKS[st.l] as string)?.fenceToken ?? 1n;
      const fenceToken = st.tok === 'current' ? cur : st.tok === 'stale' && cur > 0n ? cur - 1n : 0n;
      return st.t === 'release'
        ? { type: 'LockRelease', sessionId: sid(st.s), name: LOCKS[st.l] as string, fenceToken }
        : { type: 'LockRenew', sessionId: sid(st.s), name: LOCKS[st.l] as string, fenceToken };
    }
    case 'arrive':
      return {
        type: 'BarrierArrive',
        sessionId: sid(st.s),
        name: BARRIERS[st.b] as string,
        participants: st.n,
        threshold: st.th,
        timeoutMs: st.timeout,
      };
    case 'leave':
      return { type: 'BarrierLeave', sessionId: sid(st.s), name: BARRIERS[st.b] as string };
    case 'campaign':
      return { type: 'ElectionCampaign', sessionId: sid(st.s), name: 'E', value: new Uint8Array([st.s]) };
    case 'resign':
      return {
        type: 'ElectionResign',
        sessionId: sid(st.s),
        name: 'E',
        epoch: st.current ? (sm.election('E')?.epoch ?? 0n) : 0n,
      };
    case 'compact':
      return { type: 'KvCompact', appliedFloor: st.floor };
    default: {
      const key = KEYS[st.k] as string;
      const context = st.fresh ? sm.kvGet(key).context : { entries: [] };
      const actor = `a${st.actor}`;
      return st.t === 'put'
        ? { type: 'KvPut', key, value: new TextEncoder().encode(String(st.v)), context, actor }
        : { type: 'KvDelete', key, context, actor };
    }
  }
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

describe('coordination state machine properties', () => {
  it('two replicas applying the same commands have byte-identical snapshots and results', () => {
    fc.assert(
      fc.property(stepsArb(80), (steps) => {
        const a = new CoordinationStateMachine(OPTIONS);
        const b = new CoordinationStateMachine(OPTIONS);
        steps.forEach((st, i) => {
          const cmd = toCommand(a, st, i);
          expect(b.applyCommand(cmd, i + 1)).toEqual(a.applyCommand(cmd, i + 1));
        });
        expect(same(a.snapshot(), b.snapshot())).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('snapshot/restore in the middle continues identically (results, events and snapshots)', () => {
    fc.assert(
      fc.property(stepsArb(80), fc.nat(), (steps, cutAt) => {
        const cut = steps.length === 0 ? 0 : cutAt % steps.length;
        const a = new CoordinationStateMachine(OPTIONS);
        const evA: CoordinationEvent[] = [];
        a.onEvent((e) => evA.push(e));
        for (const [i, st] of steps.slice(0, cut).entries()) a.applyCommand(toCommand(a, st, i), i + 1);
        const b = new CoordinationStateMachine(OPTIONS);
        b.restore(a.snapshot());
        expect(same(b.snapshot(), a.snapshot())).toBe(true);
        evA.length = 0;
        const evB: CoordinationEvent[] = [];
        b.onEvent((e) => evB.push(e));
        steps.slice(cut).forEach((st, j) => {
          const i = cut + j;
          const cmd = toCommand(a, st, i);
          expect(b.applyCommand(cmd, i + 1)).toEqual(a.applyCommand(cmd, i + 1));
          // The tombstone count behind oldestTombstone() (kept incrementally) matches the state.
          for (const m of [a, b])
            expect(m.oldestTombstone() !== null).toBe(KEYS.some((k) => m.hasTombstone(k)));
        });
        expect(evB).toEqual(evA);
        expect(same(a.snapshot(), b.snapshot())).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('fence tokens per name strictly increase and there is at most one holder, matching the state', () => {
    let grants = 0;
    let queuedGrants = 0;
    fc.assert(
      fc.property(stepsArb(120), (steps) => {
        const sm = new CoordinationStateMachine(OPTIONS);
        const holders = new Map<string, Set<string>>();
        const lastToken = new Map<string, bigint>();
        const granted = (name: string, s: string, token: bigint) => {
          expect(token).toBeGreaterThan(lastToken.get(name) ?? 0n);
          lastToken.set(name, token);
          const set = holders.get(name) ?? new Set<string>();
          set.add(s);
          holders.set(name, set);
          expect(set.size).toBe(1);
        };
        const events: CoordinationEvent[] = [];
        sm.onEvent((e) => events.push(e)); // checked after each apply: apply isolates listener exceptions
        steps.forEach((st, i) => {
          const cmd = toCommand(sm, st, i);
          events.length = 0;
          const r = sm.applyCommand(cmd, i + 1);
          for (const e of events) {
            if (e.kind === 'lock_lost') holders.get(e.name)?.delete(e.sessionId);
            if (e.kind === 'lock_granted') {
              queuedGrants++;
              granted(e.name, e.sessionId, e.fenceToken);
            }
          }
          if (cmd.type === 'LockAcquire' && r.ok && r.outcome === 'acquired' && r.position === 1) {
            grants++;
            granted(cmd.name, cmd.sessionId, r.fenceToken);
          }
          for (const name of LOCKS) {
            const owner = sm.lock(name)?.owner ?? null;
            expect([...(holders.get(name) ?? [])]).toEqual(owner === null ? [] : [owner]);
          }
          expect(sm.lockCount).toBeLessThanOrEqual(2);
        });
      }),
      { numRuns: 150 },
    );
    // The generator does reach the interesting cases (not a vacuous property).
    expect(grants).toBeGreaterThan(50);
    expect(queuedGrants).toBeGreaterThan(10);
  });

  it('every barrier generation is released exactly once', () => {
    let totalReleased = 0;
    fc.assert(
      fc.property(stepsArb(120), (steps) => {
        const sm = new CoordinationStateMachine(OPTIONS);
        const released: string[] = [];
        sm.onEvent((e) => {
          if (e.kind === 'barrier_released') released.push(`${e.name}@${e.generation}`);
        });
        for (const [i, st] of steps.entries()) sm.applyCommand(toCommand(sm, st, i), i + 1);
        expect(new Set(released).size).toBe(released.length);
        totalReleased += released.length;
      }),
      { numRuns: 150 },
    );
    expect(totalReleased).toBeGreaterThan(20);
  });

  it('the byte-level replica (generated codecs) gives the same results as the typed machine', () => {
    fc.assert(
      fc.property(stepsArb(60), (steps) => {
        const typed = new CoordinationStateMachine(OPTIONS);
        const replica = createCoordinationReplica(OPTIONS);
        steps.forEach((st, i) => {
          const cmd = toCommand(typed, st, i);
          const expected = typed.applyCommand(cmd, i + 1);
          expect(decodeResultMessage(replica.apply(encodeCommandMessage(cmd), i + 1))).toEqual(expected);
        });
        expect(same(typed.snapshot(), replica.snapshot())).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('malformed command bytes yield DECODE_ERROR and change nothing', () => {
    const replica = createCoordinationReplica();
    replica.apply(encodeCommandMessage({ type: 'SessionOpen', sessionId: 's', clientId: 'c', ttlMs: 0 }), 1);
    const before = replica.machine.snapshot();
    const r = decodeResultMessage(replica.apply(new Uint8Array([200, 1, 2]), 2));
    expect(r).toMatchObject({ ok: false, errorCode: 'DECODE_ERROR' });
    const twin = createCoordinationReplica();
    twin.restore(before);
    twin.apply(encodeCommandMessage({ type: 'TimeAdvance', elapsedMs: 0 }), 2);
    expect(same(twin.snapshot(), replica.snapshot())).toBe(true);
  });
});
