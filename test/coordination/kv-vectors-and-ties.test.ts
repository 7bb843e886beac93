/**
 * Version vectors and deadline ties in the coordination state machine: a writer passing back the
 * read context resolves every sibling even when pruning dropped an actor from all contexts; a
 * counter that would pass 2^53 - 1 is refused (it would stall causality); a waiter whose session
 * ends at the instant the holder's lease does is not granted the lock.
 */
import { describe, expect, it } from 'vitest';
import { bytes, Rig, text } from './helpers.js';

describe('KV version vectors', () => {
  it('a writer whose context is the current read context resolves every sibling (pruned vectors)', () => {
    const r = new Rig({
      limits: { vectorClockMaxEntries: 2 },
      conflictRules: [{ prefix: '', strategy: 'application_callback' }],
    });
    // Three concurrent writers: three siblings; the read context is pruned to the 2 newest actors.
    for (const a of ['a', 'b', 'c'])
      r.ok({ type: 'KvPut', key: 'k', value: bytes(a), context: { entries: [] }, actor: a });
    const read = r.sm.kvGet('k');
    expect(read.siblings.map(text)).toEqual(['a', 'b', 'c']);
    // The writer saw all three siblings (it passes exactly what the read returned).
    const w = r.ok({ type: 'KvPut', key: 'k', value: bytes('resolved'), context: read.context, actor: 'd' });
    // Sibling 'a' used to survive: no context the machine returns named its pruned actor.
    expect(w.outcome).toBe('written');
    expect(text(r.sm.kvGet('k').value)).toBe('resolved');
  });

  it('a write whose counter would pass 2^53 - 1 is refused and changes nothing', () => {
    const r = new Rig();
    const ctx = { entries: [{ actor: 'a', counter: Number.MAX_SAFE_INTEGER }] };
    const w = r.apply({ type: 'KvPut', key: 'k', value: bytes('v1'), context: ctx, actor: 'a' });
    expect(w.ok).toBe(false);
    expect(w.errorCode).toBe('INVALID_CONTEXT');
    expect(r.sm.kvGet('k').value).toBeNull();
    expect(r.sm.kvGet('k').context.entries).toEqual([]);
  });
});

describe('deadline ties', () => {
  it('a lease expiring at the instant a waiter session expires does not grant the lock to that session', () => {
    const r = new Rig(); // default LOCK_DELAY_MS = 0
    r.open('a', 10_000);
    r.open('b', 1000); // expires at t=1000
    r.open('c', 10_000);
    r.acquire('a', 'L', { ttlMs: 1000 }); // lease ends at t=1000
    r.acquire('b', 'L');
    r.acquire('c', 'L');
    r.ok({ type: 'SessionKeepAlive', sessionId: 'a' });
    r.ok({ type: 'SessionKeepAlive', sessionId: 'c' });
    r.advance(1000);
    expect(r.sm.lock('L')?.owner).toBe('c');
    // Used to: b (dead at t=1000) was granted (a fence token burned) and lost it in the same entry.
    expect(r.kinds('lock_granted').map((e) => (e as { sessionId: string }).sessionId)).toEqual(['c']);
  });
});
