import { describe, expect, it } from 'vitest';
import type { Env } from '../../runtime/env/types.js';
import {
  drainSnapshotSteps,
  encodeKvCommand,
  KvStateMachine,
  type StateMachine,
} from '../../runtime/node/kv-state-machine.js';
import { createNode, type NodeConfig } from '../../runtime/node/node.js';
import { SimpleLogStore } from '../../runtime/node/simple-log-store.js';
import type { Snapshot } from '../../runtime/raft/types.js';
import { createWorld } from '../../sim/world.js';
import { installSnapshotFromB, manualEnv, settleMicrotasks } from '../helpers/manual-env.js';

/** Member a of {a, b, c} on `env`, its log in a simulated file system (seeded `seed`). */
function memberAOfThree(env: Env, sm: StateMachine, seed: number, config?: NodeConfig) {
  const store = new SimpleLogStore(createWorld({ seed }).createEnv('a').fs);
  return createNode({ id: 'a', peers: ['a', 'b', 'c'], env, logStore: store, stateMachine: sm, config });
}

/**
 * Node driver, local snapshots: a state machine with `snapshotSteps` is serialised a step at a
 * time with the event loop (here the simulated world) running in between, so the member keeps
 * committing and applying while a large snapshot is written. The snapshot is still exactly the
 * state at the index it was taken at.
 */
describe('node driver: a snapshot serialised in steps', () => {
  it('applies entries between the steps, and saves the state of the snapshot index', async () => {
    const world = createWorld({ seed: 5 });
    const env = world.createEnv('a');
    const store = new SimpleLogStore(env.fs);
    const saved: Snapshot[] = [];
    const rawSave = store.saveSnapshot.bind(store);
    store.saveSnapshot = (s, replaceLog) => {
      saved.push(s);
      return rawSave(s, replaceLog);
    };
    const sm = new KvStateMachine();
    let applied = 0;
    const appliedAtSteps: number[] = [];
    let capturedAt = -1;
    let captured: Uint8Array | null = null;
    const rawApply = sm.apply.bind(sm);
    sm.apply = (c, i) => {
      applied = i;
      return rawApply(c, i);
    };
    sm.snapshotSteps = () => {
      capturedAt = applied;
      const inner = KvStateMachine.prototype.snapshotSteps.call(sm);
      captured = drainSnapshotSteps(KvStateMachine.prototype.snapshotSteps.call(sm));
      return {
        next: () => {
          appliedAtSteps.push(applied);
          return inner.next();
        },
      };
    };
    const node = await createNode({
      id: 'a',
      peers: ['a'],
      env,
      logStore: store,
      stateMachine: sm,
      config: { snapshotInterval: 4000, snapshotLogPercent: 0 },
    });
    await world.runFor(3000, { stopWhen: () => node.status().role === 'leader' });
    expect(node.status().role).toBe('leader');
    // 4,000 entries reach the interval; the snapshot of ~4,000 keys takes several steps, and
    // proposals keep coming while it is written.
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 5000; i++) {
      if (node.error) throw node.error;
      pending.push(node.propose(encodeKvCommand({ op: 'put', key: `k${i}`, value: `v${i}` })));
      if (i % 50 === 49) await world.runFor(1);
    }
    await world.runFor(2000, { stopWhen: () => saved.length > 0 && applied >= 5000 });
    await Promise.all(pending);
    expect(saved.length).toBeGreaterThan(0);
    const first = saved[0] as Snapshot;
    expect(first.meta.index).toBe(capturedAt);
    expect(Buffer.from(first.data).equals(Buffer.from(captured as unknown as Uint8Array))).toBe(true);
    // The member applied entries while the snapshot was being serialised.
    expect(appliedAtSteps.length).toBeGreaterThan(2);
    expect(appliedAtSteps.at(-1)).toBeGreaterThan(appliedAtSteps[0] as number);
    node.stop();
    await node.idle();
  });

  it('a leader snapshot arriving during the steps is answered at once; the local one is dropped', async () => {
    const { env, deliver, sent } = manualEnv(); // timers never fire: a step pause would last forever
    const enc = (t: string) => new TextEncoder().encode(t);
    const sm = new KvStateMachine();
    let steps = 0;
    sm.snapshotSteps = () => {
      const inner = KvStateMachine.prototype.snapshotSteps.call(sm);
      return {
        next: () => {
          steps++;
          return inner.next();
        },
      };
    };
    const node = await memberAOfThree(env, sm, 1, { snapshotInterval: 2 });
    const put = (i: number) => encodeKvCommand({ op: 'put', key: `k${i}`, value: `v${i}` });
    deliver('b', {
      type: 'AppendRequest',
      term: 1,
      leaderId: 'b',
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [1, 2].map((i) => ({
        index: i,
        term: 1,
        entryType: 'command' as const,
        command: put(i),
        timestamp: 0,
      })),
      leaderCommit: 2,
      readSeq: 1,
    });
    await settleMicrotasks();
    expect(steps).toBeGreaterThan(0); // the local snapshot at 2 is between two steps now
    const data = enc(JSON.stringify([...Array(10).keys()].map((i) => [`k${i + 1}`, `v${i + 1}`])));
    deliver('b', installSnapshotFromB(10, data));
    await settleMicrotasks();
    expect(sent.some((m) => m.message.type === 'InstallSnapshotResponse')).toBe(true);
    expect(sm.get('k10')).toBe('v10');
    expect(node.status().snapshotsTaken).toBe(0); // the local one was dropped, not taken
    node.stop();
    await node.idle();
  });

  it('a leader snapshot is restored in steps, with the event loop running between them', async () => {
    const { env, deliver, sent } = manualEnv();
    const due: (() => void)[] = [];
    env.clock.setTimer = (_ms, fn) => {
      due.push(fn);
      return fn;
    };
    const enc = (t: string) => new TextEncoder().encode(t);
    const sm = new KvStateMachine();
    let restoreSteps = 0;
    (sm as StateMachine).restoreSteps = (bytes) => {
      // Three steps, the state replaced by the last one (what a real machine does in slices).
      let n = 0;
      return {
        next: () => {
          restoreSteps++;
          if (++n < 3) return { done: false, value: undefined };
          sm.restore(bytes);
          return { done: true, value: undefined };
        },
      };
    };
    const node = await memberAOfThree(env, sm, 2);
    due.length = 0; // the election timer: not part of this test
    const data = enc(JSON.stringify([['k1', 'v1']]));
    deliver('b', installSnapshotFromB(5, data));
    await settleMicrotasks();
    // The first step ran; the node now waits on the loop (a timer) before the next one.
    expect(restoreSteps).toBe(1);
    expect(sm.get('k1')).toBeUndefined();
    for (let i = 0; i < 5 && restoreSteps < 3; i++) {
      for (const fn of due.splice(0)) fn();
      await settleMicrotasks();
    }
    expect(restoreSteps).toBe(3);
    expect(sm.get('k1')).toBe('v1');
    // The response went out once the snapshot was durable, not after the restore.
    expect(sent.some((m) => m.message.type === 'InstallSnapshotResponse')).toBe(true);
    node.stop();
    await node.idle();
  });
});
