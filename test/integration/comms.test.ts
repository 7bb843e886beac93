/**
 * consensus_with_comms: every Raft message the node sends goes through the generated codecs. The
 * network of each simulated member is wrapped: every frame sent and every frame received is
 * decoded with `decodeRaftMessage` and re-encoded with `encodeRaftMessage` (byte-identical), and
 * the scenario drives the cluster through all 7 message types (vote, append, snapshot install for
 * a member cut off past compaction, leadership transfer).
 */
import { describe, expect, it } from 'vitest';
import { decodeRaftMessage, encodeRaftMessage, type RaftMessage } from '../../generated/index.js';
import type { Env } from '../../runtime/env/types.js';
import { encodeKvCommand, KvStateMachine } from '../../runtime/node/kv-state-machine.js';
import { createNode, type RaftNode } from '../../runtime/node/node.js';
import { createWorld } from '../../sim/world.js';

const ALL_TYPES: RaftMessage['type'][] = [
  'VoteRequest',
  'VoteResponse',
  'AppendRequest',
  'AppendResponse',
  'InstallSnapshotRequest',
  'InstallSnapshotResponse',
  'TimeoutNow',
];

describe('consensus_with_comms', () => {
  it('consensus_with_comms: all 7 Raft message types round-trip through the generated codecs, no frame fails', async () => {
    const world = createWorld({ seed: 7 });
    const ids = ['a', 'b', 'c'];
    const seen = new Map<string, number>();
    const failures: string[] = [];
    let frames = 0;
    const check = (where: string, frame: Uint8Array) => {
      frames++;
      try {
        const m = decodeRaftMessage(frame);
        const again = encodeRaftMessage(m);
        if (Buffer.compare(Buffer.from(again), Buffer.from(frame)) !== 0)
          failures.push(`${where}: ${m.type} re-encodes differently`);
        seen.set(m.type, (seen.get(m.type) ?? 0) + 1);
      } catch (e) {
        failures.push(`${where}: ${String(e)}`);
      }
    };
    const nodes = new Map<string, RaftNode>();
    const pending = ids.map((id) => {
      const sim = world.createEnv(id);
      const env: Env = {
        ...sim,
        network: {
          send(to, frame) {
            check(`${id}->${to} sent`, frame);
            sim.network.send(to, frame);
          },
          onReceive(h) {
            sim.network.onReceive((from, frame) => {
              check(`${from}->${id} received`, frame);
              h(from, frame);
            });
          },
        },
      };
      return createNode({
        id,
        peers: ids,
        env,
        stateMachine: new KvStateMachine(),
        config: { snapshotInterval: 10 },
      }).then((n) => nodes.set(id, n));
    });
    await world.runFor(2000, { stopWhen: () => nodes.size === 3 });
    await Promise.all(pending);
    const leader = () => [...nodes.values()].find((n) => n.status().role === 'leader') ?? null;
    await world.runFor(5000, { stopWhen: () => leader() !== null });
    const l0 = leader();
    expect(l0).not.toBeNull();

    // Cut one follower off, write well past several snapshots, then heal: it needs a snapshot.
    const lagging = ids.find((x) => x !== l0!.id) as string;
    world.network.isolate(lagging);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      writes.push(l0!.propose(encodeKvCommand({ op: 'put', key: `k${i}`, value: `v${i}` })));
      await world.runFor(20);
    }
    await world.runFor(500);
    await Promise.all(writes);
    expect(l0!.status().snapshotIndex).toBeGreaterThan(0);
    world.network.rejoin(lagging);
    await world.runFor(2000, {
      stopWhen: () => (nodes.get(lagging)?.status().appliedIndex ?? 0) >= l0!.status().commitIndex,
    });
    expect(nodes.get(lagging)!.status().appliedIndex).toBeGreaterThanOrEqual(l0!.status().commitIndex);

    // Hand leadership over: TimeoutNow.
    l0!.transferLeadership(lagging);
    await world.runFor(2000, { stopWhen: () => leader()?.id === lagging });
    expect(leader()?.id).toBe(lagging);

    for (const n of nodes.values()) n.stop();
    expect(failures).toEqual([]);
    expect(frames).toBeGreaterThan(100);
    for (const t of ALL_TYPES) expect(seen.get(t) ?? 0, `no ${t} frame was seen`).toBeGreaterThan(0);
  });
});
