import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ELECTION_QUEUE_MAX,
  ELECTION_VALUE_QUOTA_BYTES,
  KV_QUOTA_BYTES,
  MAX_BARRIER_TIMEOUT_MS,
  MAX_ELECTIONS,
  MAX_LOCK_TTL_MS,
  MAX_SESSION_TTL_MS,
  MAX_SESSIONS,
} from '../../generated/index.js';
import {
  type CommandMessage,
  type CoordinationOptions,
  CoordinationStateMachine,
  DEFAULT_COORDINATION_LIMITS,
  type VersionVector,
} from '../../runtime/coordination/index.js';
import { bytes, Rig, text } from './helpers.js';

const EMPTY: VersionVector = { entries: [] };
const put = (r: Rig, key: string, value: string | Uint8Array, actor = 'w', context = EMPTY) =>
  r.apply({
    type: 'KvPut',
    key,
    value: typeof value === 'string' ? bytes(value) : value,
    context,
    actor,
  });
const del = (r: Rig, key: string, actor = 'w', context = r.sm.kvGet(key).context) =>
  r.apply({ type: 'KvDelete', key, context, actor });
const campaign = (r: Rig, s: string, name: string, value: Uint8Array = bytes('v')) =>
  r.apply({ type: 'ElectionCampaign', sessionId: s, name, value });

/** A machine restored from `r`'s snapshot (with `r`'s options): it recounts everything from scratch. */
const restored = (r: Rig, opts: CoordinationOptions = { limits: r.sm.limits }) => {
  const twin = new CoordinationStateMachine(opts);
  twin.restore(r.sm.snapshot());
  return twin;
};

describe('coordination resource limits', () => {
  it('the defaults are the spec constants', () => {
    expect(DEFAULT_COORDINATION_LIMITS).toMatchObject({
      maxSessions: MAX_SESSIONS,
      maxSessionTtlMs: MAX_SESSION_TTL_MS,
      maxLockTtlMs: MAX_LOCK_TTL_MS,
      maxBarrierTimeoutMs: MAX_BARRIER_TIMEOUT_MS,
      maxElections: MAX_ELECTIONS,
      electionQueueMax: ELECTION_QUEUE_MAX,
      electionValueQuotaBytes: ELECTION_VALUE_QUOTA_BYTES,
      kvQuotaBytes: KV_QUOTA_BYTES,
    });
    expect([MAX_SESSIONS, MAX_ELECTIONS, ELECTION_QUEUE_MAX]).toEqual([10_000, 256, 64]);
    expect([MAX_SESSION_TTL_MS, MAX_LOCK_TTL_MS, MAX_BARRIER_TIMEOUT_MS]).toEqual([
      300_000, 300_000, 3_600_000,
    ]);
    expect([ELECTION_VALUE_QUOTA_BYTES, KV_QUOTA_BYTES]).toEqual([16 * 2 ** 20, 2 ** 30]);
  });

  describe('sessions', () => {
    it('one session past MAX_SESSIONS is TOO_MANY_SESSIONS; a closed or expired one frees its slot', () => {
      const r = new Rig({ limits: { maxSessions: 2 } });
      r.open('a', 1000);
      r.open('b', 60_000);
      const res = r.expectRejected(
        { type: 'SessionOpen', sessionId: 'c', clientId: 'c', ttlMs: 0 },
        'TOO_MANY_SESSIONS',
      );
      expect(res.message).toContain('MAX_SESSIONS');
      // Re-opening an open session still says what it always said.
      r.expectRejected({ type: 'SessionOpen', sessionId: 'a', clientId: 'a', ttlMs: 0 }, 'SESSION_EXISTS');
      r.ok({ type: 'SessionClose', sessionId: 'b' });
      r.open('c', 60_000);
      r.expectRejected({ type: 'SessionOpen', sessionId: 'd', clientId: 'd', ttlMs: 0 }, 'TOO_MANY_SESSIONS');
      r.advance(1000); // a expires
      expect(r.sm.sessionCount).toBe(1);
      r.open('d');
      expect(r.sm.sessionCount).toBe(2);
    });

    it('a session TTL above MAX_SESSION_TTL_MS is INVALID_ARGUMENT naming the maximum; the maximum itself is fine', () => {
      const r = new Rig();
      const res = r.expectRejected(
        { type: 'SessionOpen', sessionId: 's', clientId: 'c', ttlMs: 2_000_000_000 },
        'INVALID_ARGUMENT',
      );
      expect(res.message).toContain('MAX_SESSION_TTL_MS');
      expect(res.message).toContain('300000');
      r.expectRejected(
        { type: 'SessionOpen', sessionId: 's', clientId: 'c', ttlMs: MAX_SESSION_TTL_MS + 1 },
        'INVALID_ARGUMENT',
      );
      r.open('s', MAX_SESSION_TTL_MS);
      expect(r.sm.sessionRemainingMs('s')).toBe(MAX_SESSION_TTL_MS);
      r.open('t', 0); // the default
      expect(r.sm.sessionRemainingMs('t')).toBe(DEFAULT_COORDINATION_LIMITS.sessionTtlMs);
    });

    it('a lowered maximum applies to new sessions; an open session keeps its TTL', () => {
      const r = new Rig();
      r.open('s', 200_000);
      const twin = restored(r, { limits: { maxSessionTtlMs: 500 } });
      const rejected = twin.applyCommand(
        { type: 'SessionOpen', sessionId: 't', clientId: 'c', ttlMs: 501 },
        r.index + 1,
      );
      expect(rejected.errorCode).toBe('INVALID_ARGUMENT');
      expect(rejected.message).toContain('500');
      expect(twin.applyCommand({ type: 'TimeAdvance', elapsedMs: 1000 }, r.index + 2).ok).toBe(true);
      expect(twin.applyCommand({ type: 'SessionKeepAlive', sessionId: 's' }, r.index + 3).ok).toBe(true);
      expect(twin.sessionRemainingMs('s')).toBe(200_000);
      expect(
        twin.applyCommand({ type: 'SessionOpen', sessionId: 't', clientId: 'c', ttlMs: 500 }, r.index + 4).ok,
      ).toBe(true);
    });
  });

  describe('lock TTL and barrier timeout', () => {
    const acquire = (s: string, ttlMs: number): CommandMessage => ({
      type: 'LockAcquire',
      sessionId: s,
      name: 'L',
      requestId: `${s}-q`,
      ttlMs,
      waitMs: 0,
      tryOnly: false,
    });

    it('a lock TTL above MAX_LOCK_TTL_MS is INVALID_ARGUMENT, whether it would grant, queue or re-enter', () => {
      const r = new Rig();
      r.open('a');
      r.open('b');
      const res = r.expectRejected(acquire('a', 2_000_000_000), 'INVALID_ARGUMENT');
      expect(res.message).toContain('MAX_LOCK_TTL_MS');
      expect(res.message).toContain('300000');
      expect(r.sm.lock('L')).toBeNull();
      const granted = r.ok(acquire('a', MAX_LOCK_TTL_MS));
      expect(granted.outcome).toBe('acquired');
      expect(r.sm.lock('L')?.leaseExpiryMs).toBe(MAX_LOCK_TTL_MS);
      r.expectRejected(acquire('a', MAX_LOCK_TTL_MS + 1), 'INVALID_ARGUMENT'); // re-entrant
      r.expectRejected(acquire('b', MAX_LOCK_TTL_MS + 1), 'INVALID_ARGUMENT'); // would queue
      expect(r.ok(acquire('b', 0)).outcome).toBe('queued');
    });

    it('the maximum lock TTL is a limit tests and deployments can lower', () => {
      const r = new Rig({ limits: { maxLockTtlMs: 5000 } });
      r.open('a', 60_000);
      r.open('b', 60_000);
      const res = r.expectRejected(acquire('a', 5001), 'INVALID_ARGUMENT');
      expect(res.message).toContain('5000');
      r.ok(acquire('a', 5000));
      r.ok(acquire('b', 0));
      r.advance(5000); // a never renewed: b holds the lock at a's lease end
      expect(r.sm.lock('L')?.owner).toBe('b');
    });

    it('a barrier timeout above MAX_BARRIER_TIMEOUT_MS is INVALID_ARGUMENT, also when joining', () => {
      const r = new Rig();
      r.open('a');
      r.open('b');
      const arrive = (s: string, timeoutMs: number): CommandMessage => ({
        type: 'BarrierArrive',
        sessionId: s,
        name: 'B',
        participants: 3,
        threshold: 1,
        timeoutMs,
      });
      const res = r.expectRejected(arrive('a', 2_000_000_000), 'INVALID_ARGUMENT');
      expect(res.message).toContain('MAX_BARRIER_TIMEOUT_MS');
      expect(res.message).toContain('3600000');
      expect(r.sm.barrier('B')).toBeNull();
      expect(r.ok(arrive('a', MAX_BARRIER_TIMEOUT_MS)).outcome).toBe('waiting');
      expect(r.sm.barrier('B')?.timeoutMs).toBe(MAX_BARRIER_TIMEOUT_MS);
      r.expectRejected(arrive('b', MAX_BARRIER_TIMEOUT_MS + 1), 'INVALID_ARGUMENT');
      expect(r.ok(arrive('b', 0)).arrived).toEqual(['a', 'b']);
    });
  });

  describe('elections', () => {
    it('one election past MAX_ELECTIONS is TOO_MANY_ELECTIONS; an election nobody campaigns in frees its slot', () => {
      const r = new Rig({ limits: { maxElections: 2 } });
      for (const s of ['a', 'b', 'c']) r.open(s, 60_000);
      expect(campaign(r, 'a', 'E1').outcome).toBe('elected');
      expect(campaign(r, 'b', 'E2').outcome).toBe('elected');
      const res = r.expectRejected(
        { type: 'ElectionCampaign', sessionId: 'c', name: 'E3', value: bytes('v') },
        'TOO_MANY_ELECTIONS',
      );
      expect(res.message).toContain('MAX_ELECTIONS');
      // Existing elections still take candidates.
      expect(campaign(r, 'c', 'E1').outcome).toBe('queued');
      r.ok({ type: 'ElectionResign', sessionId: 'b', name: 'E2', epoch: r.sm.election('E2')?.epoch ?? 0n });
      expect(r.sm.election('E2')).toBeNull();
      expect(campaign(r, 'c', 'E3').outcome).toBe('elected');
    });

    it('one candidate past ELECTION_QUEUE_MAX is ELECTION_QUEUE_FULL; campaigning again is still answered', () => {
      const r = new Rig({ limits: { electionQueueMax: 2 } });
      for (const s of ['a', 'b', 'c', 'd']) r.open(s, 60_000);
      campaign(r, 'a', 'E');
      expect(campaign(r, 'b', 'E').position).toBe(1);
      expect(campaign(r, 'c', 'E').position).toBe(2);
      const res = r.expectRejected(
        { type: 'ElectionCampaign', sessionId: 'd', name: 'E', value: bytes('v') },
        'ELECTION_QUEUE_FULL',
      );
      expect(res.message).toContain('ELECTION_QUEUE_MAX');
      // The leader and the queued candidates asking again get their answers, not an error.
      expect(campaign(r, 'a', 'E').outcome).toBe('elected');
      expect(campaign(r, 'c', 'E')).toMatchObject({ ok: true, outcome: 'queued', position: 2 });
      r.ok({ type: 'ElectionResign', sessionId: 'c', name: 'E', epoch: 0n });
      expect(campaign(r, 'd', 'E')).toMatchObject({ ok: true, outcome: 'queued', position: 2 });
    });

    it('campaign values above ELECTION_VALUE_QUOTA_BYTES in total are NO_SPACE; leaving frees them', () => {
      const r = new Rig({ limits: { electionValueQuotaBytes: 10 } });
      for (const s of ['a', 'b', 'c']) r.open(s, 60_000);
      campaign(r, 'a', 'E', new Uint8Array(4));
      campaign(r, 'b', 'F', new Uint8Array(4)); // leaders' and queued candidates' values both count
      expect(r.sm.electionValueBytesUsed).toBe(8);
      const res = r.expectRejected(
        { type: 'ElectionCampaign', sessionId: 'c', name: 'E', value: new Uint8Array(3) },
        'NO_SPACE',
      );
      expect(res.message).toContain('ELECTION_VALUE_QUOTA_BYTES');
      expect(campaign(r, 'c', 'E', new Uint8Array(2)).outcome).toBe('queued'); // exactly 10
      expect(r.sm.electionValueBytesUsed).toBe(10);
      r.expectRejected(
        { type: 'ElectionCampaign', sessionId: 'c', name: 'G', value: bytes('x') },
        'NO_SPACE',
      );
      // The leader of E resigns: c leads E with its 2 bytes, a's 4 are gone.
      r.ok({ type: 'ElectionResign', sessionId: 'a', name: 'E', epoch: r.sm.election('E')?.epoch ?? 0n });
      expect(r.sm.electionValueBytesUsed).toBe(6);
      // A session lost takes its values with it.
      r.ok({ type: 'SessionClose', sessionId: 'b' });
      expect(r.sm.electionValueBytesUsed).toBe(2);
      expect(campaign(r, 'a', 'G', new Uint8Array(8)).outcome).toBe('elected');
      expect(restored(r).electionValueBytesUsed).toBe(10);
    });
  });

  describe('key-value quota', () => {
    // 'k' (1) + value + one vector entry: 16 + the actor's bytes ('w': 1).
    const record = (valueBytes: number, actors = 1) => 1 + valueBytes + actors * 17;

    it('counts keys, values and version vectors exactly; one byte over is NO_SPACE', () => {
      const r = new Rig({ limits: { kvQuotaBytes: record(3) + record(0) } });
      expect(put(r, 'k', 'abc').ok).toBe(true);
      expect(r.sm.kvBytesUsed).toBe(record(3));
      expect(put(r, 'j', '').ok).toBe(true); // exactly the quota
      expect(r.sm.kvBytesUsed).toBe(record(3) + record(0));
      del(r, 'j');
      r.ok({ type: 'KvCompact', appliedFloor: r.index });
      expect(r.sm.kvBytesUsed).toBe(record(3));
      const res = r.expectRejected(
        { type: 'KvPut', key: 'j', value: bytes('x'), context: EMPTY, actor: 'w' },
        'NO_SPACE',
      );
      expect(res.message).toContain('KV_QUOTA_BYTES');
      expect(r.sm.kvGet('j').value).toBeNull();
    });

    it('when full, overwrites that do not grow and deletes still pass; a write that grows does not', () => {
      const r = new Rig({ limits: { kvQuotaBytes: record(3) } });
      put(r, 'k', 'abc');
      // Same size, same writer: no growth.
      expect(put(r, 'k', 'xyz', 'w', r.sm.kvGet('k').context).ok).toBe(true);
      // Smaller: passes.
      expect(put(r, 'k', 'xy', 'w', r.sm.kvGet('k').context).ok).toBe(true);
      expect(r.sm.kvBytesUsed).toBe(record(2));
      // Another writer adds a vector entry (17 bytes): the record grows past the quota.
      r.expectRejected(
        { type: 'KvPut', key: 'k', value: bytes('xy'), context: r.sm.kvGet('k').context, actor: 'v' },
        'NO_SPACE',
      );
      // A delete always passes, even one that leaves a tombstone above the quota.
      expect(del(r, 'k', 'v').outcome).toBe('deleted');
      expect(r.sm.kvBytesUsed).toBe(record(0, 2));
      expect(r.sm.kvBytesUsed).toBeGreaterThan(r.sm.limits.kvQuotaBytes);
      r.expectRejected(
        { type: 'KvPut', key: 'k', value: bytes('a'), context: EMPTY, actor: 'w' },
        'NO_SPACE',
      );
      // Collecting the tombstone gives the room back.
      r.ok({ type: 'KvCompact', appliedFloor: r.index });
      expect(r.sm.kvBytesUsed).toBe(0);
      expect(put(r, 'k', 'abc').ok).toBe(true);
    });

    it('siblings count: a concurrent write kept as a sibling needs room for both', () => {
      const r = new Rig({
        limits: { kvQuotaBytes: 1 + 2 * (1 + 17) },
        conflictRules: [{ prefix: '', strategy: 'application_callback' }],
      });
      put(r, 'k', 'a', 'w');
      // Concurrent (no context) from another writer: two siblings of 1 + 17 bytes each, plus the key.
      expect(put(r, 'k', 'b', 'v').outcome).toBe('siblings');
      expect(r.sm.kvBytesUsed).toBe(1 + 2 * (1 + 17));
      r.expectRejected(
        { type: 'KvPut', key: 'k', value: bytes('c'), context: EMPTY, actor: 'u' },
        'NO_SPACE',
      );
      // A write that resolves the siblings (its context covers both) shrinks the record.
      expect(put(r, 'k', 'c', 'w', r.sm.kvGet('k').context).outcome).toBe('written');
      expect(text(r.sm.kvGet('k').value)).toBe('c');
      expect(r.sm.kvBytesUsed).toBe(1 + 1 + 2 * 17);
    });

    it('a restored replica counts the same bytes and makes the same decisions', () => {
      const r = new Rig({ limits: { kvQuotaBytes: 100 } });
      put(r, 'k', 'x'.repeat(40));
      put(r, 'é', 'y'.repeat(20), 'wé'); // UTF-8: 2-byte key, 3-byte actor
      expect(r.sm.kvBytesUsed).toBe(1 + 40 + 17 + 2 + 20 + 16 + 3);
      const twin = restored(r);
      expect(twin.kvBytesUsed).toBe(r.sm.kvBytesUsed);
      const probe: CommandMessage = {
        type: 'KvPut',
        key: 'p',
        value: bytes('z'),
        context: EMPTY,
        actor: 'w',
      };
      const fits = twin.applyCommand(probe, r.index + 1);
      expect(r.apply(probe)).toEqual(fits);
      expect(fits.ok).toBe(false);
      expect(fits.errorCode).toBe('NO_SPACE');
    });

    it('the count stays exact through random writes, deletes, siblings, merges and compaction', () => {
      const KEYS = ['k1', 'app/k2', 'm/k3', 'r/k4', 'ü/k5'];
      const opts: CoordinationOptions = {
        limits: { kvQuotaBytes: 160, vectorClockMaxEntries: 3 },
        conflictRules: [
          { prefix: 'app/', strategy: 'application_callback' },
          { prefix: 'm/', strategy: 'merge_function', merge: 'max' },
          { prefix: 'r/', strategy: 'reject' },
        ],
      };
      const op = fc.record({
        t: fc.constantFrom('put', 'put', 'put', 'del', 'compact'),
        k: fc.nat(KEYS.length - 1),
        actor: fc.constantFrom('a', 'bb', 'ççç', 'd', 'e'),
        len: fc.nat(30),
        fresh: fc.boolean(),
      });
      let noSpace = 0;
      fc.assert(
        fc.property(fc.array(op, { minLength: 10, maxLength: 80 }), (ops) => {
          const sm = new CoordinationStateMachine(opts);
          let index = 0;
          for (const o of ops) {
            const key = KEYS[o.k] as string;
            const context = o.fresh ? EMPTY : sm.kvGet(key).context;
            const cmd: CommandMessage =
              o.t === 'compact'
                ? { type: 'KvCompact', appliedFloor: index }
                : o.t === 'del'
                  ? { type: 'KvDelete', key, context, actor: o.actor }
                  : {
                      type: 'KvPut',
                      key,
                      value: bytes(String(o.len).padStart(1 + (o.len % 9), '0')),
                      context,
                      actor: o.actor,
                    };
            const before = sm.kvBytesUsed;
            const res = sm.applyCommand(cmd, ++index);
            if (res.errorCode === 'NO_SPACE') noSpace++;
            if (!res.ok) expect(sm.kvBytesUsed).toBe(before);
            if (res.ok && cmd.type === 'KvPut' && sm.kvBytesUsed > before)
              expect(sm.kvBytesUsed).toBeLessThanOrEqual(160);
            const twin = new CoordinationStateMachine(opts);
            twin.restore(sm.snapshot());
            expect(twin.kvBytesUsed).toBe(sm.kvBytesUsed);
          }
        }),
        { numRuns: 150 },
      );
      expect(noSpace).toBeGreaterThan(0); // the quota was reached, not just approached
    });
  });
});
