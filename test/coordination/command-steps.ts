import fc from 'fast-check';
import type {
  CommandMessage,
  CoordinationOptions,
  CoordinationStateMachine,
} from '../../runtime/coordination/index.js';

/**
 * Random coordination commands for property tests: `stepArb` draws a step, `cmdOf` turns it into a
 * command against the machine's current state (tokens, contexts), `mkOptions` gives small limits
 * and one conflict rule of each kind.
 */
export const S = ['s1', 's2', 's3', 's4'];
const LOCKS = ['L1', 'L2'];
const BARRIERS = ['B', 'c#1', 'c#2', 'c#3'];
const ELECTIONS = ['E', 'F'];
export const KEYS = ['k1', 'app/k2', 'm/k3', 'r/k4'];

export const mkOptions = (delay: number): CoordinationOptions => ({
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

export type Step = { t: string; a: number; b: number; c: number; d: number; gap: number };
export const stepArb: fc.Arbitrary<Step> = fc.record({
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

export function cmdOf(sm: CoordinationStateMachine, st: Step, i: number): CommandMessage {
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
