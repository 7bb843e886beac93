import { describe, expect, it } from 'vitest';
import { encodeLogEntry, type LogEntry } from '../../generated/index.js';
import { encodeKvCommand, KvStateMachine } from '../../runtime/node/kv-state-machine.js';
import type { LogStore } from '../../runtime/node/log-store.js';
import { createNode, ProposalIndeterminate, type RaftNode } from '../../runtime/node/node.js';
import { SimpleLogStore } from '../../runtime/node/simple-log-store.js';
import { ProposalRejected } from '../../runtime/raft/errors.js';
import { SimCluster } from '../../sim/cluster/cluster.js';
import { createWorld } from '../../sim/world.js';

const enc = (s: string) => new TextEncoder().encode(s);

function entry(index: number, term: number, text = `e${index}`): LogEntry {
  return { index, term, entryType: 'command', command: enc(text), timestamp: 0 };
}

describe('node API', () => {
  it('propose resolves with the state machine result; followers reject with the leader id', async () => {
    const c = await SimCluster.start({ seed: 21, nodes: 3 });
    const l = (await c.waitForLeader()) as string;
    const node = c.nodes.get(l);
    const p1 = node?.propose(encodeKvCommand({ op: 'put', key: 'a', value: '1' }));
    const p2 = node?.propose(encodeKvCommand({ op: 'put', key: 'a', value: '2' }));
    await c.run(200);
    await expect(p1).resolves.toMatchObject({ result: null });
    await expect(p2).resolves.toMatchObject({ result: '1' });
    const f = c.ids.find((x) => x !== l) as string;
    await expect(c.nodes.get(f)?.propose(enc('x'))).rejects.toMatchObject({
      reason: 'not_leader',
      leaderId: l,
    });
    await c.run(100);
    expect((c.nodes.get(f)?.stateMachine as KvStateMachine | undefined)?.get('a')).toBe('2');
    c.stop();
  });

  it('linearizable, lease and stale reads', async () => {
    const c = await SimCluster.start({ seed: 22, nodes: 3 });
    const l = (await c.waitForLeader()) as string;
    await c.run(200);
    const node = c.nodes.get(l);
    const w = node?.propose(encodeKvCommand({ op: 'put', key: 'k', value: 'v' }));
    await c.run(100);
    const { index } = (await w) as { index: number };
    const lin = node?.read('linearizable');
    const lease = node?.read('lease');
    await c.run(100);
    expect((await lin)?.index).toBeGreaterThanOrEqual(index);
    expect((await lease)?.index).toBeGreaterThanOrEqual(index);
    const f = c.ids.find((x) => x !== l) as string;
    await expect(c.nodes.get(f)?.read('linearizable')).rejects.toBeInstanceOf(ProposalRejected);
    await expect(c.nodes.get(f)?.read('stale')).resolves.toBeDefined();
    c.stop();
  });

  it('a read dropped by a step-down and re-election between two Readies is rejected, not left waiting', async () => {
    const c = await SimCluster.start({ seed: 24, nodes: 3 });
    const l = (await c.waitForLeader()) as string;
    await c.run(200);
    const node = c.nodes.get(l) as RaftNode;
    const peer = c.ids.find((x) => x !== l) as string;
    const term = node.raft.term;
    const read = node.read('linearizable');
    // Synchronously, before the node takes its next Ready: a transfer to this very member makes
    // it step down into term + 1 and campaign in term + 2, and one granted vote elects it again.
    node.raft.step(peer, { type: 'TimeoutNow', term: term + 1, leaderId: peer });
    node.raft.step(peer, { type: 'VoteResponse', term: term + 2, granted: true, isPreVote: false });
    expect(node.raft.role).toBe('leader');
    expect(node.raft.term).toBe(term + 2);
    let outcome: unknown = 'pending';
    read.then(
      (r) => (outcome = r),
      (e) => (outcome = e),
    );
    await c.run(500);
    expect(outcome).toBeInstanceOf(ProposalRejected);
    expect(outcome).toMatchObject({ reason: 'not_leader' });
    // Reads issued in the new term are served as usual.
    const again = node.read('linearizable');
    await c.run(100);
    await expect(again).resolves.toBeDefined();
    c.stop();
  });

  it('transferLeadership and changeMembership through the node', async () => {
    const c = await SimCluster.start({ seed: 23, nodes: 3 });
    const l = (await c.waitForLeader()) as string;
    await c.run(200);
    const t = c.ids.find((x) => x !== l) as string;
    c.nodes.get(l)?.transferLeadership(t);
    await c.run(300);
    expect(c.leader()).toBe(t);
    const removed = c.ids.find((x) => x !== t) as string;
    const change = c.nodes
      .get(t)
      ?.changeMembership({ changeType: 'remove_node', nodeId: removed, address: '' });
    await c.run(500);
    await expect(change).resolves.toBeDefined();
    expect(c.nodes.get(t)?.status().config.voters).not.toContain(removed);
    expect(c.checker.violations).toEqual([]);
    c.stop();
  });
});

describe('SimpleLogStore on a crashing disk', () => {
  it('recovers durable entries and hard state, drops a torn tail, replaces suffixes', async () => {
    const world = createWorld({ seed: 5 });
    const env = world.createEnv('a');
    const store = new SimpleLogStore(env.fs);
    let loaded = await store.load();
    expect(loaded).toEqual({
      hardState: { term: 0, votedFor: null, commit: 0 },
      entries: [],
      snapshot: null,
    });
    await store.save({ term: 2, votedFor: 'b', commit: 1 }, [entry(1, 1), entry(2, 1), entry(3, 2)]);
    await store.save(undefined, [entry(3, 3, 'replaced'), entry(4, 3)]);
    // an unsynced write that the crash may tear
    void env.fs.write('raft.log', (await env.fs.size('raft.log')) as number, encodeLogEntry(entry(9, 9)));
    world.crash('a');
    const env2 = world.restart('a');
    const s2 = new SimpleLogStore(env2.fs);
    loaded = await s2.load();
    expect(loaded.hardState).toEqual({ term: 2, votedFor: 'b', commit: 1 });
    expect(loaded.entries.map((e) => `${e.index}/${e.term}`)).toEqual(['1/1', '2/1', '3/3', '4/3']);
    expect(new TextDecoder().decode(loaded.entries[2]?.command)).toBe('replaced');
    // snapshot + compaction
    const config = { voters: ['a'], votersOutgoing: [], learners: [], addresses: [] };
    await s2.saveSnapshot({ meta: { index: 2, term: 1, config }, data: enc('state@2') }, false);
    await s2.compact(2);
    world.crash('a');
    const s3 = new SimpleLogStore(world.restart('a').fs);
    loaded = await s3.load();
    expect(loaded.snapshot?.meta.index).toBe(2);
    expect(new TextDecoder().decode(loaded.snapshot?.data)).toBe('state@2');
    expect(loaded.entries.map((e) => e.index)).toEqual([3, 4]);
    // a snapshot installed from a leader replaces the whole log
    await s3.saveSnapshot({ meta: { index: 10, term: 5, config }, data: enc('state@10') }, true);
    world.crash('a');
    loaded = await new SimpleLogStore(world.restart('a').fs).load();
    expect(loaded.snapshot?.meta.index).toBe(10);
    expect(loaded.entries).toEqual([]);
    expect(loaded.hardState.term).toBe(2);
  });

  it('the default KV machine snapshots and restores deterministically', () => {
    const a = new KvStateMachine();
    a.apply(encodeKvCommand({ op: 'put', key: 'y', value: '1' }), 1);
    a.apply(encodeKvCommand({ op: 'put', key: 'x', value: '2' }), 2);
    a.apply(encodeKvCommand({ op: 'delete', key: 'y' }), 3);
    const b = new KvStateMachine();
    b.restore(a.snapshot());
    expect(b.snapshot()).toEqual(a.snapshot());
    expect(b.get('x')).toBe('2');
    expect(b.get('y')).toBeUndefined();
  });
});

describe('node reads across a leadership change', () => {
  it('a linearizable read pending on a leader that loses leadership is rejected, never served', async () => {
    const c = await SimCluster.start({ seed: 24, nodes: 3 });
    const l = (await c.waitForLeader()) as string;
    await c.run(200);
    c.world.network.isolate(l);
    let outcome: 'served' | 'rejected' | null = null;
    c.nodes
      .get(l)
      ?.read('linearizable')
      .then(
        () => {
          outcome = 'served';
        },
        () => {
          outcome = 'rejected';
        },
      );
    await c.run(1000);
    expect(outcome).toBe('rejected');
    c.stop();
  });
});

describe('proposals across a leadership change', () => {
  it('a proposal pending on a leader cut off from the others ends indeterminate once it steps down, not when the cut heals', async () => {
    const c = await SimCluster.start({ seed: 24, nodes: 3 });
    const l = (await c.waitForLeader()) as string;
    await c.run(200);
    c.world.network.isolate(l);
    let outcome: unknown = null;
    c.nodes
      .get(l)
      ?.propose(encodeKvCommand({ op: 'put', key: 'x', value: '1' }))
      .then(
        () => {
          outcome = 'applied';
        },
        (e) => {
          outcome = e;
        },
      );
    // Check quorum makes it step down within an election timeout or two; the cut never heals here.
    await c.run(2000);
    expect(c.nodes.get(l)?.status().role).not.toBe('leader');
    expect(outcome).toBeInstanceOf(ProposalIndeterminate);
    expect((outcome as ProposalIndeterminate).reason).toBe('leadership_lost');
    c.stop();
  });
});

describe('storage stalls', () => {
  it('a leader whose storage write stalls longer than maxSyncStallMs steps down', async () => {
    const world = createWorld({ seed: 31 });
    const ids = ['a', 'b', 'c'];
    const hang = new Set<string>();
    const nodes = new Map<string, RaftNode>();
    const roleEvents: string[] = [];
    for (const id of ids) {
      const env = world.createEnv(id);
      const inner = new SimpleLogStore(env.fs);
      const store: LogStore = {
        load: () => inner.load(),
        save: (hs, es) => (hang.has(id) ? new Promise<void>(() => {}) : inner.save(hs, es)),
        saveSnapshot: (s, r) => inner.saveSnapshot(s, r),
        compact: (i) => inner.compact(i),
      };
      void createNode({
        id,
        peers: ids,
        env,
        logStore: store,
        config: { maxSyncStallMs: 60 },
        observer: { onRoleChange: (who, t) => roleEvents.push(`${who}:${t.from}->${t.to}:${t.event}`) },
      }).then((n) => nodes.set(id, n));
    }
    await world.runFor(3000, { stopWhen: () => [...nodes.values()].some((n) => n.raft.role === 'leader') });
    const leader = [...nodes.values()].find((n) => n.raft.role === 'leader') as RaftNode;
    expect(leader).toBeDefined();
    hang.add(leader.id);
    void leader.propose(enc('stuck')).catch(() => undefined);
    await world.runFor(40);
    expect(leader.raft.role).toBe('leader');
    // detected at the next tick after 60 ms, before any follower's election timeout (>= 150 ms)
    await world.runFor(100);
    expect(leader.raft.role).not.toBe('leader');
    expect(leader.status().syncStalls).toBe(1);
    // Its own event, so logs and traces tell a stalled disk from a lost quorum.
    expect(roleEvents).toContain(`${leader.id}:leader->follower:storage_stalled`);
    for (const n of nodes.values()) n.stop();
  });
});

describe('a snapshot that hits the file-descriptor limit', () => {
  it('is skipped (EMFILE is not a disk failure): the member keeps acknowledging and snapshots again later', async () => {
    // A review flooded a member's ports until the process had no descriptors left: its next
    // snapshot failed with EMFILE, which stopped the member for good as if the disk had failed.
    const world = createWorld({ seed: 5 });
    const env = world.createEnv('a');
    const inner = new SimpleLogStore(env.fs);
    let failNext = true;
    const store: LogStore = {
      load: () => inner.load(),
      save: (hs, es) => inner.save(hs, es),
      saveSnapshot: (s, r) => {
        if (!r && failNext) {
          failNext = false;
          return Promise.reject(
            Object.assign(new Error('EMFILE: too many open files, open'), { code: 'EMFILE' }),
          );
        }
        return inner.saveSnapshot(s, r);
      },
      compact: (i) => inner.compact(i),
    };
    let node: RaftNode | undefined;
    void createNode({
      id: 'a',
      peers: ['a'],
      env,
      logStore: store,
      config: { snapshotInterval: 5, snapshotLogPercent: 0 },
    }).then((n) => {
      node = n;
    });
    await world.runFor(1000, { stopWhen: () => node?.raft.role === 'leader' });
    const n = node as RaftNode;
    for (let i = 0; i < 12; i++) {
      const done = n.propose(encodeKvCommand({ op: 'put', key: `k${i}`, value: 'v' }));
      await world.runFor(50);
      await done;
    }
    expect(n.error).toBeNull();
    expect(n.status().snapshotsSkipped).toBe(1);
    expect(n.status().snapshotsTaken).toBeGreaterThanOrEqual(2);
    expect(n.status().snapshotIndex).toBeGreaterThan(5);
  });
});
