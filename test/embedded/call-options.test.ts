/**
 * Every call takes an AbortSignal and a deadline (CONTRACT.md), also the calls that wait on the
 * cluster: lock, barrier arrive/leave, campaign/resign. A wait that ends by its signal or its
 * `timeoutMs` is withdrawn on the server and rejects with the reason. All in virtual time
 * (test/client/abort-in-flight.test.ts: an acquire aborted in flight;
 * test/client/session-given-up.test.ts: a wait whose session cannot be kept alive).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '../../runtime/client/client.js';
import { CoordinationError } from '../../runtime/coordination/errors.js';
import type { EmbeddedNode } from '../../runtime/embedded-node.js';
import type { World } from '../../sim/world.js';
import { drive, startSimCluster } from './sim-cluster.js';

const codeOf = async (world: World, p: Promise<unknown>) => {
  try {
    await drive(world, p);
    return 'resolved';
  } catch (e) {
    return e instanceof CoordinationError ? e.code : String(e);
  }
};

describe('signals and deadlines of waiting calls', () => {
  let world: World;
  let nodes: EmbeddedNode[] = [];
  let a: Client;
  let b: Client;
  let c: Client;
  const start = async () => {
    const started = await startSimCluster(5);
    ({ world, nodes } = started);
    const leader = started.leader;
    [a, b, c] = await drive(
      world,
      Promise.all(['a', 'b', 'c'].map((clientId) => leader.client({ clientId, sessionTtlMs: 2000 }))),
    );
  };
  afterEach(async () => {
    await drive(world, Promise.all(nodes.map((n) => n.close()))).catch(() => undefined);
  });

  it('lock: timeoutMs ends the wait, which is withdrawn (the next waiter gets the lock)', async () => {
    await start();
    const held = await drive(world, a.lock('L', { ttlMs: 60_000 }));
    expect(await codeOf(world, b.lock('L', { ttlMs: 60_000, timeoutMs: 300 }))).toBe('LOCK_WAIT_TIMEOUT');
    const next = c.lock('L', { ttlMs: 60_000 });
    await drive(world, held.release());
    const got = await drive(world, next);
    expect(got.fenceToken).toBeGreaterThan(held.fenceToken);
  });

  it('barrier: timeoutMs ends the arrival and withdraws it (a later pair is needed to release)', async () => {
    await start();
    expect(await codeOf(world, a.barrier('B', { participants: 2 }).arrive({ timeoutMs: 300 }))).toBe(
      'WAIT_TIMEOUT',
    );
    // a's arrival is gone: b alone does not release the barrier, b and c do.
    const pb = b.barrier('B', { participants: 2 }).arrive();
    let released = false;
    pb.then(() => {
      released = true;
    });
    await world.runFor(500);
    expect(released).toBe(false);
    const r = await drive(world, Promise.all([pb, c.barrier('B', { participants: 2 }).arrive()]));
    expect([...(r[0].arrived ?? [])].sort()).toEqual(
      ['b', 'c'].map((x) => expect.stringContaining(x)) as never,
    );
  });

  it('campaign: a signal ends the campaign and withdraws it', async () => {
    await start();
    const ea = a.election('E');
    await drive(world, ea.campaign('a'));
    const ac = new AbortController();
    const pb = b.election('E').campaign('b', { signal: ac.signal });
    await world.runFor(200);
    ac.abort(new Error('stop'));
    expect(await codeOf(world, pb)).toBe('Error: stop');
    // b withdrew: when a resigns, c (campaigning after b) leads, not b.
    const pc = c.election('E').campaign('c');
    await world.runFor(200);
    await drive(world, ea.resign());
    await drive(world, pc);
  });
});
