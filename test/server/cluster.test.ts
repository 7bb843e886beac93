import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import { until } from '../helpers/until.js';
import { startTestCluster, type TestCluster } from './helpers.js';

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

describe('three servers on loopback', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster(3);
  });
  afterAll(async () => {
    await c?.close();
  });

  it('elects a leader; put/get through a follower endpoint follows the redirect', async () => {
    const leader = await c.leader();
    const follower = c.servers.find((s) => s !== leader);
    const client = await connect({ endpoints: [`127.0.0.1:${follower?.port}`], timeoutMs: 5000 });
    try {
      const proposals = () => [leader.node.status().proposals, follower?.node.status().proposals];
      const [leaderBefore, followerBefore] = proposals();
      const term = leader.node.status().term;
      await client.put('k', 'v1');
      const r = await client.get('k');
      expect(text(r.value)).toBe('v1');
      // consensus_proposals_total: counted where the command entered the log, not where it arrived.
      const [leaderAfter, followerAfter] = proposals();
      if (leader.node.status().term === term) {
        expect(followerAfter).toBe(followerBefore);
        expect(leaderAfter).toBeGreaterThan(leaderBefore as number);
      }
      const st = await client.status();
      expect(st.leaderId).toBe(leader.id);
      expect(st.members.map((m) => m.id).sort()).toEqual(['n1', 'n2', 'n3']);
    } finally {
      await client.close();
    }
  });

  it('locks get strictly increasing fence tokens; a second locker waits for the release', async () => {
    const a = await connect({ endpoints: c.endpoints });
    const b = await connect({ endpoints: c.endpoints });
    try {
      const l1 = await a.lock('res');
      let bGot = false;
      const pb = b.lock('res').then((l) => {
        bGot = true;
        return l;
      });
      const leader = await c.leader();
      await until('b waits on the leader', () => leader.status().waitingRequests === 1);
      expect(bGot).toBe(false);
      await l1.release();
      expect(l1.signal.aborted).toBe(true);
      const l2 = await pb;
      expect(l2.fenceToken).toBeGreaterThan(l1.fenceToken);
      await l2.release();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a barrier of 3 is released for all, with who arrived', async () => {
    const clients = await Promise.all([0, 1, 2].map(() => connect({ endpoints: c.endpoints })));
    try {
      const results = await Promise.all(clients.map((cl) => cl.barrier('b3', { participants: 3 }).arrive()));
      for (const r of results) {
        expect(r.outcome).toBe('satisfied');
        expect(r.arrived).toHaveLength(3);
      }
    } finally {
      await Promise.all(clients.map((cl) => cl.close()));
    }
  });

  it('a retried command (same sequence) applies once', async () => {
    const cl = await connect({ endpoints: c.endpoints });
    try {
      const put = (v: string) => ({
        type: 'KvPut' as const,
        key: 'once',
        value: new TextEncoder().encode(v),
        context: { entries: [] },
        actor: cl.clientId,
      });
      const first = await cl.rawCommand(put('A'), 1_000_000);
      const again = await cl.rawCommand(put('B'), 1_000_000);
      // The retry returns the first result and does not write 'B'.
      expect(text(again.value)).toBe(text(first.value));
      expect(text((await cl.get('once')).value)).toBe('A');
    } finally {
      await cl.close();
    }
  });

  it('a lock wait aborted by its signal is cancelled on the server', async () => {
    const a = await connect({ endpoints: c.endpoints });
    const b = await connect({ endpoints: c.endpoints });
    try {
      const l1 = await a.lock('abort-me');
      const ac = new AbortController();
      const pb = b.lock('abort-me', { signal: ac.signal });
      const leader = await c.leader();
      await until('b waits on the leader', () => leader.status().waitingRequests === 1);
      ac.abort(new Error('gave up'));
      await expect(pb).rejects.toThrow('gave up');
      await until('the wait withdrawn on the leader', () => leader.status().waitingRequests === 0);
      // The queue is empty again: once released, a third locker gets it at once.
      await l1.release();
      const l3 = await a.lock('abort-me', { waitMs: 2000 });
      expect(l3.fenceToken).toBeGreaterThan(l1.fenceToken);
      await l3.release();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('fails over when the leader stops, and data survives a full restart', async () => {
    const cl = await connect({ endpoints: c.endpoints, timeoutMs: 8000 });
    try {
      for (let i = 0; i < 20; i++) await cl.put(`f${i}`, `v${i}`);
      const leader = await c.leader();
      const li = c.servers.indexOf(leader);
      await leader.close();
      c.servers[li] = null;
      await cl.put('after', 'failover');
      expect(text((await cl.get('f7')).value)).toBe('v7');
      expect(text((await cl.get('after')).value)).toBe('failover');
    } finally {
      await cl.close();
    }
    await Promise.all(c.servers.map((s) => s?.close()));
    for (let i = 0; i < 3; i++) await c.start(i);
    const cl2 = await connect({ endpoints: c.endpoints, timeoutMs: 8000 });
    try {
      expect(text((await cl2.get('after')).value)).toBe('failover');
      expect(text((await cl2.get('f19')).value)).toBe('v19');
    } finally {
      await cl2.close();
    }
  });
});
