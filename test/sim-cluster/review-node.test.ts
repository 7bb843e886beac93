import { describe, expect, it } from 'vitest';
import type { HardState, LogEntry } from '../../generated/index.js';
import type { Env } from '../../runtime/env/types.js';
import type { StateMachine } from '../../runtime/node/kv-state-machine.js';
import type { LoadedState, LogStore } from '../../runtime/node/log-store.js';
import { createNode } from '../../runtime/node/node.js';
import { SimpleLogStore } from '../../runtime/node/simple-log-store.js';
import { createRaft } from '../../runtime/raft/raft.js';
import type { Snapshot } from '../../runtime/raft/types.js';
import { createWorld } from '../../sim/world.js';
import { installSnapshotFromB, manualEnv, settleMicrotasks } from '../helpers/manual-env.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** State = the list of applied commands; the snapshot is that list as JSON. */
class ListMachine implements StateMachine {
  items: string[] = [];
  apply(command: Uint8Array): unknown {
    this.items.push(dec(command));
    return null;
  }
  snapshot(): Uint8Array {
    return enc(JSON.stringify(this.items));
  }
  restore(s: Uint8Array): void {
    this.items = JSON.parse(dec(s)) as string[];
  }
}

/** A store whose `save` waits until released, recording every durable snapshot. */
class GatedStore implements LogStore {
  snapshots: { snapshot: Snapshot; replaceLog: boolean }[] = [];
  private gates: (() => void)[] = [];
  hold = false;
  async load(): Promise<LoadedState> {
    return { hardState: { term: 0, votedFor: null, commit: 0 }, entries: [], snapshot: null };
  }
  save(_hs: HardState | undefined, _entries: readonly LogEntry[]): Promise<void> {
    if (!this.hold) return Promise.resolve();
    return new Promise((r) => this.gates.push(r));
  }
  async saveSnapshot(snapshot: Snapshot, replaceLog: boolean): Promise<void> {
    this.snapshots.push({ snapshot, replaceLog });
  }
  async compact(_index: number): Promise<void> {}
  release(): void {
    this.hold = false;
    for (const g of this.gates.splice(0)) g();
  }
}

describe('review: node driver', () => {
  it('a local snapshot taken while a leader snapshot is being installed never claims its index', async () => {
    const { env, deliver } = manualEnv();
    const store = new GatedStore();
    const sm = new ListMachine();
    await createNode({
      id: 'a',
      peers: ['a', 'b', 'c'],
      env,
      logStore: store,
      stateMachine: sm,
      config: { snapshotInterval: 2 },
    });
    store.hold = true;
    const entries: LogEntry[] = [1, 2].map((i) => ({
      index: i,
      term: 1,
      entryType: 'command',
      command: enc(`e${i}`),
      timestamp: 0,
    }));
    deliver('b', {
      type: 'AppendRequest',
      term: 1,
      leaderId: 'b',
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries,
      leaderCommit: 2,
      readSeq: 1,
    });
    await settleMicrotasks(); // the Ready with entries 1..2 is being persisted
    const leaderData = enc(JSON.stringify(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9', 'e10']));
    deliver('b', installSnapshotFromB(10, leaderData));
    store.release();
    await settleMicrotasks();
    // Every durable snapshot must hold the state at its own index (a crash may stop at any point).
    expect(store.snapshots.length).toBeGreaterThan(0);
    for (const { snapshot } of store.snapshots) {
      const items = JSON.parse(dec(snapshot.data)) as string[];
      expect(items.length).toBe(snapshot.meta.index);
    }
    expect(sm.items).toHaveLength(10);
  });
});

describe('review: SimpleLogStore crash while installing a leader snapshot', () => {
  it('a crash between the snapshot rename and the log rewrite never resurrects a divergent suffix', async () => {
    const world = createWorld({ seed: 7 });
    const env = world.createEnv('a');
    const store = new SimpleLogStore(env.fs);
    await store.load();
    const e = (index: number, term: number): LogEntry => ({
      index,
      term,
      entryType: 'command',
      command: enc(`e${index}`),
      timestamp: 0,
    });
    // Our log: 1..5 in term 1, then an uncommitted 6..15 from a deposed leader of term 2.
    const ours = [1, 2, 3, 4, 5]
      .map((i) => e(i, 1))
      .concat([6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((i) => e(i, 2)));
    await store.save({ term: 3, votedFor: null, commit: 5 }, ours);
    // The term-3 leader's snapshot at 10 (term 3) replaces the log; the log rewrite never completes.
    const stalled: Env['fs'] = {
      ...env.fs,
      remove: (p) => (p.endsWith('raft.log.tmp') ? new Promise<void>(() => {}) : env.fs.remove(p)),
    };
    const s2 = new SimpleLogStore(stalled);
    await s2.load();
    const config = { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [], addresses: [] };
    void s2.saveSnapshot({ meta: { index: 10, term: 3, config }, data: enc('state@10') }, true);
    await world.runFor(200);
    world.crash('a');
    const loaded = await new SimpleLogStore(world.restart('a').fs).load();
    expect(loaded.snapshot?.meta.index).toBe(10);
    // Entries 11..15 follow a different entry 10 (term 2): they are not part of the snapshot's history.
    expect(loaded.entries).toEqual([]);
    expect(() =>
      createRaft({ id: 'a', peers: ['a', 'b', 'c'], random: () => 0.5, restored: loaded }),
    ).not.toThrow();
  });
});
