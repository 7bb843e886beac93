import { describe, expect, it } from 'vitest';
import type { HardState, LogEntry } from '../../generated/index.js';
import type { StateMachine } from '../../runtime/node/kv-state-machine.js';
import type { LoadedState, LogStore } from '../../runtime/node/log-store.js';
import { createNode, type NodeConfig } from '../../runtime/node/node.js';
import type { Snapshot } from '../../runtime/raft/types.js';
import { manualEnv, settleMicrotasks } from '../helpers/manual-env.js';

/** A state of `stateBytes` bytes whatever the commands (a large state under small writes). */
class FixedSizeMachine implements StateMachine {
  applied = 0;
  constructor(private readonly stateBytes: number) {}
  apply(): unknown {
    this.applied++;
    return null;
  }
  snapshot(): Uint8Array {
    return new Uint8Array(this.stateBytes);
  }
  restore(): void {}
}

/** Records the snapshots the node makes durable; `load` returns `initial`. */
class RecordingStore implements LogStore {
  snapshots: number[] = [];
  constructor(private readonly initial: Snapshot | null = null) {}
  async load(): Promise<LoadedState> {
    const index = this.initial?.meta.index ?? 0;
    const term = this.initial ? 1 : 0; // term 0, nothing stored: a fresh member
    return { hardState: { term, votedFor: null, commit: index }, entries: [], snapshot: this.initial };
  }
  async save(_hs: HardState | undefined, _entries: readonly LogEntry[]): Promise<void> {}
  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.snapshots.push(snapshot.meta.index);
  }
  async compact(): Promise<void> {}
}

const config3 = { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [], addresses: [] };

/**
 * A follower `a` fed `count` committed entries by leader `b`, in appends of `batch`, with commands
 * of `commandBytes`. Returns the indexes of the snapshots it wrote.
 */
async function follow(opts: {
  stateBytes: number;
  commandBytes: number;
  count: number;
  config: NodeConfig;
  restoredSnapshotBytes?: number;
  batch?: number;
}): Promise<number[]> {
  const { env, deliver } = manualEnv();
  const initial: Snapshot | null =
    opts.restoredSnapshotBytes === undefined
      ? null
      : { meta: { index: 1, term: 1, config: config3 }, data: new Uint8Array(opts.restoredSnapshotBytes) };
  const store = new RecordingStore(initial);
  const node = await createNode({
    id: 'a',
    peers: ['a', 'b', 'c'],
    env,
    logStore: store,
    stateMachine: new FixedSizeMachine(opts.stateBytes),
    config: opts.config,
  });
  const batch = opts.batch ?? 10;
  let last = initial?.meta.index ?? 0;
  while (last < (initial?.meta.index ?? 0) + opts.count) {
    const entries: LogEntry[] = Array.from({ length: batch }, (_, i) => ({
      index: last + 1 + i,
      term: 1,
      entryType: 'command',
      command: new Uint8Array(opts.commandBytes),
      timestamp: 0,
    }));
    deliver('b', {
      type: 'AppendRequest',
      term: 1,
      leaderId: 'b',
      prevLogIndex: last,
      prevLogTerm: last === 0 ? 0 : 1,
      entries,
      leaderCommit: last + batch,
      readSeq: 1,
    });
    await settleMicrotasks();
    last += batch;
  }
  expect(node.raft.applied).toBe(last);
  node.stop();
  return store.snapshots;
}

describe('snapshot write-amplification guard (snapshotLogPercent)', () => {
  it('with a large state and small writes, waits until the log since the last snapshot is as large as it', async () => {
    // 10,000-byte state, 100-byte commands: after the first snapshot (at the interval: nothing to
    // compare with yet) the next needs 100 entries of log, not 10.
    const taken = await follow({
      stateBytes: 10_000,
      commandBytes: 100,
      count: 400,
      config: { snapshotInterval: 10 },
    });
    expect(taken).toEqual([10, 110, 210, 310]);
  });

  it('snapshotLogPercent 0 takes one every snapshotInterval entries, as before', async () => {
    const taken = await follow({
      stateBytes: 10_000,
      commandBytes: 100,
      count: 100,
      config: { snapshotInterval: 10, snapshotLogPercent: 0 },
    });
    expect(taken).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });

  it('a small state is not deferred: the log passes its size within the interval', async () => {
    const taken = await follow({
      stateBytes: 500,
      commandBytes: 100,
      count: 40,
      config: { snapshotInterval: 10 },
    });
    expect(taken).toEqual([10, 20, 30, 40]);
  });

  it('never defers past half of maxLogEntries, so the log stays bounded', async () => {
    const taken = await follow({
      stateBytes: 1_000_000,
      commandBytes: 1,
      count: 300,
      config: { snapshotInterval: 10, maxLogEntries: 200 },
    });
    expect(taken).toEqual([10, 110, 210]);
  });

  it('after a restart the snapshot it started from counts as the last one', async () => {
    const taken = await follow({
      stateBytes: 10_000,
      commandBytes: 100,
      count: 250,
      restoredSnapshotBytes: 10_000,
      config: { snapshotInterval: 10 },
    });
    expect(taken).toEqual([101, 201]);
  });
});
