import { describe, expect, it } from 'vitest';
import type { VersionVector } from '../../runtime/coordination/index.js';
import { bytes, Rig, text } from './helpers.js';

const put = (r: Rig, key: string, value: string, context: VersionVector, actor: string) =>
  r.apply({ type: 'KvPut', key, value: bytes(value), context, actor });
const EMPTY = { entries: [] };

describe('version-vector KV', () => {
  it('a read returns the value and its context; a write based on it supersedes', () => {
    const r = new Rig();
    put(r, 'k', 'v1', EMPTY, 'a');
    const read = r.sm.kvGet('k');
    expect(text(read.value)).toBe('v1');
    expect(read.context).toEqual({ entries: [{ actor: 'a', counter: 1 }] });
    put(r, 'k', 'v2', read.context, 'b');
    const r2 = r.sm.kvGet('k');
    expect(text(r2.value)).toBe('v2');
    expect(r2.siblings).toEqual([]);
    expect(r2.context.entries).toEqual([
      { actor: 'a', counter: 1 },
      { actor: 'b', counter: 1 },
    ]);
  });

  it('last_writer_wins: a concurrent write wins by log order (same on every replica)', () => {
    const r = new Rig();
    put(r, 'k', 'base', EMPTY, 'a');
    const ctx = r.sm.kvGet('k').context;
    put(r, 'k', 'x', ctx, 'a');
    const res = put(r, 'k', 'y', ctx, 'b'); // concurrent with x
    expect(res.outcome).toBe('written');
    expect(text(r.sm.kvGet('k').value)).toBe('y');
    // The merged context covers both writers, so the next write based on it is not concurrent.
    expect(r.sm.kvGet('k').context.entries).toEqual([
      { actor: 'a', counter: 2 },
      { actor: 'b', counter: 1 },
    ]);
  });

  it('reject: a concurrent write is a typed KV_CONFLICT and changes nothing', () => {
    const r = new Rig({ conflictRules: [{ prefix: 'strict/', strategy: 'reject' }] });
    put(r, 'strict/k', 'base', EMPTY, 'a');
    const ctx = r.sm.kvGet('strict/k').context;
    put(r, 'strict/k', 'x', ctx, 'a');
    r.expectRejected(
      { type: 'KvPut', key: 'strict/k', value: bytes('y'), context: ctx, actor: 'b' },
      'KV_CONFLICT',
    );
    r.expectRejected({ type: 'KvDelete', key: 'strict/k', context: ctx, actor: 'b' }, 'KV_CONFLICT');
    // With the fresh context the write goes through.
    expect(put(r, 'strict/k', 'y', r.sm.kvGet('strict/k').context, 'b').ok).toBe(true);
    // Other prefixes keep the default (lww).
    put(r, 'other', '1', EMPTY, 'a');
    expect(put(r, 'other', '2', EMPTY, 'b').ok).toBe(true);
  });

  it('application_callback: siblings go back to the reader and the next covering write resolves them', () => {
    const r = new Rig({ conflictRules: [{ prefix: 'app/', strategy: 'application_callback' }] });
    put(r, 'app/k', 'base', EMPTY, 'a');
    const ctx = r.sm.kvGet('app/k').context;
    put(r, 'app/k', 'x', ctx, 'a');
    const res = put(r, 'app/k', 'y', ctx, 'b');
    expect(res.outcome).toBe('siblings');
    const read = r.sm.kvGet('app/k');
    expect(read.value).toBeNull();
    expect(read.siblings.map(text).sort()).toEqual(['x', 'y']);
    put(r, 'app/k', 'xy', read.context, 'c');
    expect(text(r.sm.kvGet('app/k').value)).toBe('xy');
  });

  it('merge_function: built-in counter, set-union and max; custom merges; failures change nothing', () => {
    const r = new Rig({
      conflictRules: [
        { prefix: 'c/', strategy: 'merge_function', merge: 'counter' },
        { prefix: 's/', strategy: 'merge_function', merge: 'set-union' },
        { prefix: 'm/', strategy: 'merge_function', merge: 'max' },
        { prefix: 'j/', strategy: 'merge_function', merge: 'join' },
      ],
      merges: { join: (existing, incoming) => bytes([...existing.map(text), text(incoming)].join('+')) },
    });
    const race = (key: string, base: string, x: string, y: string) => {
      put(r, key, base, EMPTY, 'a');
      const ctx = r.sm.kvGet(key).context;
      put(r, key, x, ctx, 'a');
      return put(r, key, y, ctx, 'b');
    };
    race('c/k', '{"a":1}', '{"a":2}', '{"a":1,"b":1}');
    expect(text(r.sm.kvGet('c/k').value)).toBe('{"a":2,"b":1}');
    race('s/k', '[]', '["x","z"]', '["y","x"]');
    expect(text(r.sm.kvGet('s/k').value)).toBe('["x","y","z"]');
    race('m/k', '1', '7', '5');
    expect(text(r.sm.kvGet('m/k').value)).toBe('7');
    race('j/k', 'b', 'x', 'y');
    expect(text(r.sm.kvGet('j/k').value)).toBe('x+y');
    const ctx = r.sm.kvGet('m/k').context;
    put(r, 'm/k', '9', ctx, 'a');
    r.expectRejected(
      { type: 'KvPut', key: 'm/k', value: bytes('not a number'), context: ctx, actor: 'b' },
      'MERGE_FAILED',
    );
    expect(
      () => new Rig({ conflictRules: [{ prefix: 'x', strategy: 'merge_function', merge: 'nope' }] }),
    ).toThrow(/unknown merge/);
  });

  it('deletes leave tombstones that detect stale writes; KvCompact collects them once every member applied the delete', () => {
    const r = new Rig({ conflictRules: [{ prefix: '', strategy: 'reject' }] });
    put(r, 'k', 'v', EMPTY, 'a');
    const ctx = r.sm.kvGet('k').context;
    expect(r.apply({ type: 'KvDelete', key: 'k', context: ctx, actor: 'a' }).outcome).toBe('deleted');
    const delIndex = r.index;
    expect(r.sm.kvGet('k').value).toBeNull();
    expect(r.sm.hasTombstone('k')).toBe(true);
    // A writer that never saw the delete conflicts with the tombstone instead of resurrecting the key.
    r.expectRejected(
      { type: 'KvPut', key: 'k', value: bytes('stale'), context: ctx, actor: 'b' },
      'KV_CONFLICT',
    );
    r.apply({ type: 'KvCompact', appliedFloor: delIndex - 1 });
    expect(r.sm.hasTombstone('k')).toBe(true);
    r.apply({ type: 'KvCompact', appliedFloor: delIndex });
    expect(r.sm.hasTombstone('k')).toBe(false);
    expect(r.sm.kvGet('k')).toEqual({ value: null, siblings: [], context: EMPTY });
  });

  it('version vectors are pruned to VECTOR_CLOCK_MAX_ENTRIES, least recently advanced first', () => {
    const r = new Rig({ limits: { vectorClockMaxEntries: 4 } });
    let ctx: VersionVector = EMPTY;
    for (const actor of ['a', 'b', 'c', 'd', 'e', 'f']) {
      put(r, 'k', actor, ctx, actor);
      ctx = r.sm.kvGet('k').context;
      expect(ctx.entries.length).toBeLessThanOrEqual(4);
    }
    expect(ctx.entries.map((e) => e.actor)).toEqual(['c', 'd', 'e', 'f']);
    put(r, 'k', 'c2', ctx, 'c'); // c advances: now d is the oldest
    put(r, 'k', 'g', r.sm.kvGet('k').context, 'g');
    expect(r.sm.kvGet('k').context.entries.map((e) => e.actor)).toEqual(['c', 'e', 'f', 'g']);
  });

  it('bad input: oversized key and value, empty key, bad context, empty actor', () => {
    const r = new Rig({ limits: { vectorClockMaxEntries: 2 } });
    r.expectRejected(
      { type: 'KvPut', key: 'k'.repeat(4097), value: bytes('v'), context: EMPTY, actor: 'a' },
      'KEY_TOO_LONG',
    );
    r.expectRejected(
      { type: 'KvPut', key: 'k', value: new Uint8Array(1048577), context: EMPTY, actor: 'a' },
      'VALUE_TOO_LARGE',
    );
    r.expectRejected(
      { type: 'KvPut', key: '', value: bytes('v'), context: EMPTY, actor: 'a' },
      'INVALID_ARGUMENT',
    );
    r.expectRejected(
      { type: 'KvPut', key: 'k', value: bytes('v'), context: EMPTY, actor: '' },
      'INVALID_ARGUMENT',
    );
    const three = {
      entries: [
        { actor: 'a', counter: 1 },
        { actor: 'b', counter: 1 },
        { actor: 'c', counter: 1 },
      ],
    };
    r.expectRejected(
      { type: 'KvPut', key: 'k', value: bytes('v'), context: three, actor: 'a' },
      'INVALID_CONTEXT',
    );
    const dup = {
      entries: [
        { actor: 'a', counter: 1 },
        { actor: 'a', counter: 2 },
      ],
    };
    r.expectRejected({ type: 'KvDelete', key: 'k', context: dup, actor: 'a' }, 'INVALID_CONTEXT');
  });
});
