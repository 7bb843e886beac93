import { describe, expect, it } from 'vitest';
import { CoordinationStateMachine } from '../../runtime/coordination/state-machine.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A version-1 snapshot as earlier releases wrote it: one JSON document, bytes as base64. */
const V1 = {
  v: 1,
  lastIndex: 7,
  now: 1500,
  sessions: [['s1', 'c1', 10_000, 11_500]],
  locks: [],
  barriers: [],
  elections: [],
  kv: [
    { key: 'a', deletedAt: null, siblings: [{ value: b64('one'), vv: [['c1', 1, 3]], index: 3 }] },
    {
      key: 'b',
      deletedAt: null,
      siblings: [
        { value: b64('x'), vv: [['c1', 1, 4]], index: 4 },
        { value: b64('y'), vv: [['c2', 1, 5]], index: 5 },
      ],
    },
    { key: 'gone', deletedAt: 6, siblings: [{ value: null, vv: [['c1', 2, 6]], index: 6 }] },
  ],
};

describe('coordination snapshot format', () => {
  it('restores a version-1 (JSON) snapshot and re-encodes it as version 2 with the same state', () => {
    const m = new CoordinationStateMachine();
    m.restore(new TextEncoder().encode(JSON.stringify(V1)));
    expect(new TextDecoder().decode(m.kvGet('a').value as Uint8Array)).toBe('one');
    expect(m.kvGet('b').siblings.map((v) => new TextDecoder().decode(v))).toEqual(['x', 'y']);
    expect(m.hasTombstone('gone')).toBe(true);
    const v2 = m.snapshot();
    expect(v2[0]).toBe(0x42);
    const again = new CoordinationStateMachine();
    again.restore(v2);
    expect(again.snapshot()).toEqual(v2);
    expect(again.kvGet('b')).toEqual(m.kvGet('b'));
  });

  it('a snapshot without lastIssued (older releases) issues tokens above the largest on record', () => {
    const holder = { sessionId: 's1', requestId: 'r0', token: '12', depth: 1, acquiredAt: 1000 };
    const old = {
      ...V1,
      lastIndex: 9,
      locks: [
        {
          name: 'L',
          lastToken: '12',
          delayUntil: null,
          holder: { ...holder, ttlMs: 60_000, leaseExpiry: 61_000 },
          waiters: [],
        },
      ],
      elections: [{ name: 'E', leader: { sessionId: 's1', value: b64('x'), epoch: '15' }, candidates: [] }],
    };
    const m = new CoordinationStateMachine();
    m.restore(new TextEncoder().encode(JSON.stringify(old)));
    const acquire = (name: string, index: number) =>
      m.applyCommand(
        {
          type: 'LockAcquire',
          sessionId: 's1',
          name,
          requestId: `r${index}`,
          ttlMs: 0,
          waitMs: 0,
          tryOnly: false,
        },
        index,
      );
    expect(acquire('M', 10)).toMatchObject({ ok: true, outcome: 'acquired', fenceToken: 16n });
    // The counter is part of version-2 snapshots from now on.
    const again = new CoordinationStateMachine();
    again.restore(m.snapshot());
    const e = again.applyCommand(
      {
        type: 'LockAcquire',
        sessionId: 's1',
        name: 'N',
        requestId: 'r11',
        ttlMs: 0,
        waitMs: 0,
        tryOnly: false,
      },
      11,
    );
    expect(e).toMatchObject({ ok: true, outcome: 'acquired', fenceToken: 17n });
  });

  it('refuses a truncated or trailing-garbage version-2 snapshot', () => {
    const m = new CoordinationStateMachine();
    m.restore(new TextEncoder().encode(JSON.stringify(V1)));
    const v2 = m.snapshot();
    expect(() => new CoordinationStateMachine().restore(v2.subarray(0, v2.length - 3))).toThrow();
    const longer = new Uint8Array(v2.length + 1);
    longer.set(v2);
    expect(() => new CoordinationStateMachine().restore(longer)).toThrow(/trailing/);
  });
});
