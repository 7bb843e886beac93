import { describe, expect, it } from 'vitest';
import { CoordinationStateMachine } from '../../runtime/coordination/state-machine.js';
import { Rig } from './helpers.js';

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

  it('a token retired by a cascade survives a snapshot; otherwise the format is as before', () => {
    const r = new Rig({ limits: { lockDelayMs: 300 } });
    for (const s of ['a', 'b', 'c', 'd']) r.open(s);
    const quiet = r.sm.snapshot();
    expect(Buffer.from(quiet).includes('retired')).toBe(false);
    r.acquire('a', 'L', { ttlMs: 2000 });
    r.acquire('b', 'L', { ttlMs: 2000 });
    r.acquire('c', 'L', { ttlMs: 500 });
    r.advance(6000); // two grants of L in this entry, both expired; the record is dropped
    const last = (r.kinds('lock_granted').at(-1) as { fenceToken: bigint }).fenceToken;
    expect(last).toBe(BigInt(r.index) + 1n);
    const snap = r.sm.snapshot();
    expect(Buffer.from(snap).includes('retired')).toBe(true);
    const copy = new Rig({ limits: { lockDelayMs: 300 } });
    copy.sm.restore(snap);
    copy.index = r.index;
    expect(copy.sm.snapshot()).toEqual(snap);
    expect(copy.acquire('d', 'L').fenceToken).toBeGreaterThan(last);
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
