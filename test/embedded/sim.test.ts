/**
 * The public `createNode` on simulated envs: three members, `node.client()` on the leader for KV,
 * a fenced lock handed from one client to another and a barrier of three clients. Every step is
 * driven by `world.run` (virtual time only); a spy on Node's timers and `performance.now()`
 * proves nothing under runtime/ touches real time, and the same seed replays to the same results
 * and trace hash.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '../../runtime/client/client.js';
import { createNode } from '../../runtime/embedded-node.js';
import { createWorld } from '../../sim/world.js';
import { drive, FAST, startSimCluster } from './sim-cluster.js';

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

/** Counts calls of Node's timers and `performance.now()` made from runtime/ code. */
function spyRealTime(): { calls: string[]; restore(): void } {
  const calls: string[] = [];
  const g = globalThis as unknown as Record<string, (...a: unknown[]) => unknown>;
  const names = ['setTimeout', 'setInterval', 'setImmediate'];
  const saved = names.map((n) => g[n]);
  const savedNow = performance.now;
  const fromRuntime = (what: string) => {
    const stack = new Error().stack ?? '';
    if (/[/\\]runtime[/\\]/.test(stack)) calls.push(`${what}\n${stack}`);
  };
  names.forEach((n, i) => {
    const orig = saved[i] as (...a: unknown[]) => unknown;
    g[n] = (...a: unknown[]) => {
      fromRuntime(n);
      return orig(...a);
    };
  });
  performance.now = () => {
    fromRuntime('performance.now');
    return savedNow.call(performance);
  };
  return {
    calls,
    restore() {
      names.forEach((n, i) => {
        g[n] = saved[i] as (...a: unknown[]) => unknown;
      });
      performance.now = savedNow;
    },
  };
}

interface Outcome {
  leader: string;
  value: string | null;
  tokens: string[];
  waiterBlocked: boolean;
  barrier: { outcome: string; arrived: string[] }[];
  idleAfterClose: string;
  hash: string;
  now: number;
}

async function scenario(seed: number): Promise<Outcome> {
  const { world, nodes, leader } = await startSimCluster(seed, { minDelayMs: 1, maxDelayMs: 6 });

  const clients: Client[] = [];
  for (let i = 0; i < 3; i++) clients.push(await drive(world, leader.client({ clientId: `c${i}` })));
  const [c0, c1] = clients as [Client, Client, Client];

  await drive(world, c0.put('greeting', 'hello'));
  const got = await drive(world, c1.get('greeting'));

  // A fenced lock: c1 waits while c0 holds it, then gets a larger token.
  const h0 = await drive(world, c0.lock('L', { ttlMs: 5000 }));
  let c1Got = false;
  const p1 = c1.lock('L', { ttlMs: 5000, waitMs: 10_000 }).then((h) => {
    c1Got = true;
    return h;
  });
  await world.runFor(500);
  const waiterBlocked = !c1Got;
  await drive(world, h0.release());
  const h1 = await drive(world, p1);
  await drive(world, h1.release());

  // A barrier of three: nobody is released before the third arrival.
  const arrivals = clients.map((c) => c.barrier('B', { participants: 3, timeoutMs: 5000 }).arrive());
  const barrier = await drive(world, Promise.all(arrivals));

  await drive(world, Promise.all(nodes.map((n) => n.close())));
  // Nothing left scheduled by the nodes or the clients: the queue drains to idle.
  const idle = await world.run({ until: world.now() + 60_000 });
  return {
    leader: leader.id,
    value: text(got.value),
    tokens: [h0.fenceToken, h1.fenceToken].map(String),
    waiterBlocked,
    barrier: barrier.map((b) => ({ outcome: b.outcome, arrived: [...b.arrived].sort() })),
    idleAfterClose: idle.reason,
    hash: world.trace.hash,
    now: world.now(),
  };
}

describe('public createNode on simulated envs', () => {
  let spy: ReturnType<typeof spyRealTime> | null = null;
  afterEach(() => {
    spy?.restore();
    spy = null;
  });

  it('KV, a fenced lock and a barrier of three through node.client(), in virtual time only', async () => {
    spy = spyRealTime();
    const a = await scenario(7);
    const realTimeCalls = [...spy.calls];
    spy.restore();
    spy = null;
    expect(realTimeCalls).toEqual([]);
    expect(a.value).toBe('hello');
    expect(a.waiterBlocked).toBe(true);
    expect(BigInt(a.tokens[1] as string)).toBeGreaterThan(BigInt(a.tokens[0] as string));
    expect(a.barrier).toHaveLength(3);
    for (const b of a.barrier) {
      expect(b.outcome).toBe('satisfied');
      expect(b.arrived).toHaveLength(3);
    }
    expect(a.idleAfterClose).toBe('idle');

    // Same seed: the same run, event for event.
    const b = await scenario(7);
    expect(b).toEqual(a);
    // Another seed: another run (the hash is not a constant).
    const c = await scenario(8);
    expect(c.hash).not.toBe(a.hash);
  }, 30_000);

  it('an idle cluster commits nothing while nothing waits on time; a session brings TimeAdvance back', async () => {
    const { world, nodes, leader } = await startSimCluster(11, { minDelayMs: 1, maxDelayMs: 6 });
    if (!leader.replica) throw new Error('the leader has no coordination replica');
    const machine = leader.replica.machine;
    const c = await drive(world, leader.client({ clientId: 'c' }));
    await drive(world, c.put('k', 'v'));
    await drive(world, c.delete('k'));
    expect(machine.oldestTombstone()).not.toBeNull();

    // The tombstone is collected (KvCompact), and then nothing is left to collect.
    await world.run({ stopWhen: () => machine.oldestTombstone() === null, until: world.now() + 15_000 });
    expect(machine.oldestTombstone()).toBeNull();

    // Key-value use only: ten idle seconds append no entry and commit no time.
    await world.runFor(1000);
    const idle = { index: leader.status().lastIndex, now: machine.now };
    await world.runFor(10_000);
    expect(leader.status().lastIndex).toBe(idle.index);
    expect(machine.now).toBe(idle.now);

    // A held lock (a session with a lease) needs committed time: it advances with virtual time.
    const h = await drive(world, c.lock('L', { ttlMs: 5000 }));
    const held = { index: leader.status().lastIndex, now: machine.now };
    await world.runFor(3000);
    expect(leader.status().lastIndex).toBeGreaterThan(held.index + 20);
    expect(machine.now - held.now).toBeGreaterThan(2500);
    expect(machine.now - held.now).toBeLessThanOrEqual(3000);

    // Released and closed: the session is gone, nothing is due, the log goes quiet again.
    await drive(world, h.release());
    await drive(world, c.close());
    expect(machine.hasPendingDeadline()).toBe(false);
    await world.runFor(1000);
    const quiet = leader.status().lastIndex;
    await world.runFor(10_000);
    expect(leader.status().lastIndex).toBe(quiet);
    await drive(world, Promise.all(nodes.map((n) => n.close())));
  });

  it('clients get deterministic ids from env.random when none is given', async () => {
    const ids = async () => {
      const world = createWorld({ seed: 3 });
      world.createEnv('solo');
      const n = await drive(
        world,
        createNode({ id: 'solo', peers: ['solo'], env: world.env('solo'), config: FAST }),
      );
      await world.run({ stopWhen: () => n.status().role === 'leader', until: 5000 });
      const c = await drive(world, n.client());
      const d = await drive(world, n.client());
      await drive(world, n.close());
      return [c.clientId, d.clientId];
    };
    const first = await ids();
    expect(first[0]).not.toBe(first[1]);
    expect(await ids()).toEqual(first);
  });

  it('with an env, dataDir is a directory inside env.fs', async () => {
    const world = createWorld({ seed: 4 });
    const env = world.createEnv('solo');
    const n = await drive(
      world,
      createNode({ id: 'solo', peers: ['solo'], env, dataDir: 'data/solo', config: FAST }),
    );
    await world.run({ stopWhen: () => n.status().role === 'leader', until: 5000 });
    expect(await drive(world, env.fs.list('data/solo'))).toContain('wal');
    expect(await drive(world, env.fs.list(''))).toEqual(['data']);
    await drive(world, n.close());
  });

  it('with an env, the data dir, an acknowledged put and the term survive a crash', async () => {
    // The WAL syncs only the directories below the data dir; createNode makes the data dir's own
    // entry durable. Before (found by review), a crash dropped `data/` with everything under it:
    // the member restarted with an empty log, term 0 and no vote.
    const world = createWorld({ seed: 4 });
    const env = world.createEnv('solo');
    const start = (e: typeof env) =>
      drive(world, createNode({ id: 'solo', peers: ['solo'], env: e, dataDir: 'data/solo', config: FAST }));
    const n = await start(env);
    await world.run({ stopWhen: () => n.status().role === 'leader', until: 5000 });
    const term = n.status().term;
    const c = await drive(world, n.client());
    await drive(world, c.put('k', 'v'));
    world.crash('solo');
    const env2 = world.restart('solo');
    const listed = await drive(world, env2.fs.list(''));
    const n2 = await start(env2);
    const restartedTerm = n2.status().term; // before any new election
    expect({ listed, restartedTerm }).toEqual({ listed: ['data'], restartedTerm: term });
    await drive(world, n2.close());
  });

  it('node.client() refuses a custom state machine', async () => {
    const world = createWorld({ seed: 1 });
    world.createEnv('solo');
    const sm = { apply: () => new Uint8Array(0), snapshot: () => new Uint8Array(0), restore() {} };
    const n = await drive(
      world,
      createNode({ id: 'solo', peers: ['solo'], env: world.env('solo'), stateMachine: sm }),
    );
    expect(n.replica).toBeNull();
    expect(() => n.client()).toThrow(/custom 'stateMachine'/);
    await drive(world, n.close());
  });
});
