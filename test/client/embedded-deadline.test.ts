/**
 * The embedded client (`node.client()`, in-process channel) keeps the call's deadline and
 * AbortSignal once the request reached the member's handler, like a TCP client.
 */
import { describe, expect, it } from 'vitest';
import { createEmbeddedClient } from '../../runtime/client/client.js';
import { IndeterminateError } from '../../runtime/client/errors.js';
import { until } from '../helpers/until.js';
import { fakeLeader, within } from '../server/fake-leader.js';

describe('embedded client deadlines and signals', () => {
  it('a put whose proposal never settles (isolated ex-leader) ends at its deadline as indeterminate', async () => {
    const w = fakeLeader();
    w.setHook(() => new Promise(() => undefined)); // appended, never committed nor dropped
    const client = await createEmbeddedClient(w.node, w.replica, { clientId: 'c', clock: w.clock });
    const t0 = Date.now();
    const r = await within(client.put('k', 'v', { timeoutMs: 200 }), 1500);
    expect(r.pending).toBeUndefined();
    expect(r.e).toBeInstanceOf(IndeterminateError);
    expect(Date.now() - t0).toBeLessThan(1000);
    w.setHook(null);
    await client.close();
  });

  it('a put aborted by its signal while its proposal hangs ends at once as indeterminate', async () => {
    const w = fakeLeader();
    const client = await createEmbeddedClient(w.node, w.replica, { clientId: 'c', clock: w.clock });
    let proposed = false;
    w.setHook(() => {
      proposed = true;
      return new Promise(() => undefined);
    });
    const ac = new AbortController();
    const p = client.put('k', 'v', { timeoutMs: 60_000, signal: ac.signal });
    await until('the put proposed', () => proposed);
    ac.abort(new Error('gave up'));
    const r = await within(p, 500);
    expect(r.e).toBeInstanceOf(IndeterminateError);
    w.setHook(null);
    await client.close();
  });

  it('an aborted lock wait stops waiting and its queued request is cancelled on the member', async () => {
    const w = fakeLeader();
    w.applyDirect('other', w.seq(1), {
      type: 'SessionOpen',
      sessionId: 'so',
      clientId: 'other',
      ttlMs: 60_000,
    });
    const held = w.applyDirect('other', w.seq(2), {
      type: 'LockAcquire',
      sessionId: 'so',
      name: 'L',
      requestId: 'r',
      ttlMs: 60_000,
      waitMs: 0,
      tryOnly: false,
    });
    expect(held.outcome).toBe('acquired');
    const client = await createEmbeddedClient(w.node, w.replica, { clientId: 'c', clock: w.clock });
    try {
      const ac = new AbortController();
      const p = client.lock('L', { signal: ac.signal });
      await until('queued behind so', () => w.replica.machine.lock('L')?.queue.length === 1);
      ac.abort(new Error('gave up'));
      const r1 = await within(p, 500);
      expect(r1.pending).toBeUndefined();
      expect(r1.e).toBeDefined();
      // The abandoned request left the queue: the holder's release grants nobody.
      await until(
        'the withdrawn request left the queue',
        () => w.replica.machine.lock('L')?.queue.length === 0,
      );
      w.applyDirect('other', w.seq(3), {
        type: 'LockRelease',
        sessionId: 'so',
        name: 'L',
        fenceToken: held.fenceToken,
      });
      expect(w.replica.machine.lock('L')?.owner ?? null).toBeNull();
    } finally {
      await client.close();
    }
  });
});
