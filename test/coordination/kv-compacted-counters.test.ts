import { describe, expect, it } from 'vitest';
import type { KvPut, VersionVector } from '../../runtime/coordination/index.js';
import { CoordinationStateMachine } from '../../runtime/coordination/index.js';
import { bytes, Rig, text } from './helpers.js';

/**
 * Once a tombstone is compacted the key has no stored vector. A recreated key must not restart its
 * counters where the deleted one began: a context read before the delete would then dominate
 * the new value and overwrite it unseen.
 */
describe('version-vector counters are not reused after tombstone compaction', () => {
  const put = (r: Rig, key: string, v: string, context: VersionVector, actor: string) =>
    r.apply({ type: 'KvPut', key, value: bytes(v), context, actor });

  /** Writes v1, reads it (the stale context), deletes it, compacts, recreates v2. */
  const staleAfterRecreate = (r: Rig) => {
    put(r, 'k', 'v1', { entries: [] }, 'a');
    const stale = r.sm.kvGet('k').context; // {a:1}
    r.ok({ type: 'KvDelete', key: 'k', context: stale, actor: 'a' }); // tombstone {a:2}
    expect(r.ok({ type: 'KvCompact', appliedFloor: r.index }).position).toBe(1);
    expect(r.sm.hasTombstone('k')).toBe(false);
    put(r, 'k', 'v2', r.sm.kvGet('k').context, 'a');
    return stale;
  };

  it('reject: a write based on a pre-delete read is KV_CONFLICT, the recreated value stays', () => {
    const r = new Rig({ conflictRules: [{ prefix: '', strategy: 'reject' }] });
    const stale = staleAfterRecreate(r);
    expect(r.sm.kvGet('k').context.entries).toEqual([{ actor: 'a', counter: 3 }]);
    const w = put(r, 'k', 'v3', stale, 'c');
    expect(w.errorCode).toBe('KV_CONFLICT');
    expect(text(r.sm.kvGet('k').value)).toBe('v2');
  });

  it('application_callback: such a write becomes a sibling instead of replacing the value', () => {
    const r = new Rig({ conflictRules: [{ prefix: '', strategy: 'application_callback' }] });
    const stale = staleAfterRecreate(r);
    put(r, 'k', 'v3', stale, 'c');
    expect(r.sm.kvGet('k').siblings.map(text)).toEqual(['v2', 'v3']);
  });

  it('the floor covers every actor of the compacted vector and only grows', () => {
    const r = new Rig();
    put(r, 'k', 'x', { entries: [] }, 'a');
    for (let n = 0; n < 4; n++) put(r, 'k', 'x', r.sm.kvGet('k').context, 'b'); // {a:1,b:4}
    r.ok({ type: 'KvDelete', key: 'k', context: r.sm.kvGet('k').context, actor: 'a' }); // {a:2,b:4}
    put(r, 'j', 'y', { entries: [] }, 'c');
    r.ok({ type: 'KvDelete', key: 'j', context: r.sm.kvGet('j').context, actor: 'c' }); // {c:2}
    r.ok({ type: 'KvCompact', appliedFloor: r.index });
    put(r, 'k', 'z', { entries: [] }, 'a');
    expect(r.sm.kvGet('k').context.entries).toEqual([{ actor: 'a', counter: 5 }]);
    // A key with a stored vector continues its own counters.
    put(r, 'k', 'z2', r.sm.kvGet('k').context, 'a');
    expect(r.sm.kvGet('k').context.entries).toEqual([{ actor: 'a', counter: 6 }]);
  });

  it('without a compaction nothing changes: new keys start at 1, kept tombstones continue', () => {
    const r = new Rig();
    put(r, 'k', 'v1', { entries: [] }, 'a');
    expect(r.sm.kvGet('k').context.entries).toEqual([{ actor: 'a', counter: 1 }]);
    r.ok({ type: 'KvDelete', key: 'k', context: r.sm.kvGet('k').context, actor: 'a' });
    r.ok({ type: 'KvCompact', appliedFloor: r.index - 1 }); // the delete is above the floor: kept
    put(r, 'k', 'v2', r.sm.kvGet('k').context, 'a');
    expect(r.sm.kvGet('k').context.entries).toEqual([{ actor: 'a', counter: 3 }]);
    expect(Buffer.from(r.sm.snapshot()).includes('compactedCounterFloor')).toBe(false);
  });

  it('the floor is in the snapshot only once a tombstone was compacted, and survives a restore', () => {
    const r = new Rig({ conflictRules: [{ prefix: '', strategy: 'reject' }] });
    put(r, 'k', 'v1', { entries: [] }, 'a');
    const stale = r.sm.kvGet('k').context;
    r.ok({ type: 'KvDelete', key: 'k', context: stale, actor: 'a' });
    expect(Buffer.from(r.sm.snapshot()).includes('compactedCounterFloor')).toBe(false);
    r.ok({ type: 'KvCompact', appliedFloor: r.index });
    const snap = r.sm.snapshot();
    expect(Buffer.from(snap).includes('"compactedCounterFloor":2')).toBe(true);
    const copy = new CoordinationStateMachine({ conflictRules: [{ prefix: '', strategy: 'reject' }] });
    copy.restore(snap);
    expect(copy.snapshot()).toEqual(snap);
    const cmd: KvPut = {
      type: 'KvPut',
      key: 'k',
      value: bytes('v2'),
      context: { entries: [] },
      actor: 'a',
    };
    r.ok(cmd);
    copy.applyCommand(cmd, r.index);
    expect(copy.snapshot()).toEqual(r.sm.snapshot());
    expect(copy.kvGet('k').context.entries).toEqual([{ actor: 'a', counter: 3 }]);
    expect(
      copy.applyCommand({ ...cmd, value: bytes('v3'), context: stale, actor: 'c' }, r.index + 1).errorCode,
    ).toBe('KV_CONFLICT');
  });

  it('an actor new to a key another actor recreated also starts above the floor (found by review)', () => {
    const r = new Rig({ conflictRules: [{ prefix: '', strategy: 'application_callback' }] });
    const put = (v: string, context: { entries: { actor: string; counter: number }[] }, actor: string) =>
      r.apply({ type: 'KvPut', key: 'k', value: bytes(v), context, actor });
    put('v1', { entries: [] }, 'a');
    const stale = r.sm.kvGet('k').context; // {a:1}
    r.ok({ type: 'KvDelete', key: 'k', context: stale, actor: 'a' }); // {a:2}
    r.ok({ type: 'KvCompact', appliedFloor: r.index });
    put('fromB', { entries: [] }, 'b'); // {b:3}
    put('fromA', { entries: [] }, 'a'); // concurrent: sibling {a:1} (counter reused)
    expect(r.sm.kvGet('k').siblings.map(text).sort()).toEqual(['fromA', 'fromB']);
    put('stale', stale, 'c'); // context {a:1}, read before the compacted delete
    expect(r.sm.kvGet('k').siblings.map(text).sort()).toContain('fromA');
  });
});
