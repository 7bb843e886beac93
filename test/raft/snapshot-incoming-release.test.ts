import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createRaft } from '../../runtime/raft/raft.js';

const config = { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [], addresses: [] };

/**
 * A follower releases the chunks of a partial snapshot transfer (`incoming`, up to a whole
 * snapshot's size) once another leader or term reaches it with appends: that transfer will never
 * be completed, and no new one may ever start to replace it.
 */
describe('partial incoming snapshot', () => {
  it('is released once a newer leader is followed', () => {
    const c = createRaft({ id: 'c', peers: ['a', 'b', 'c'], random: () => 0.5, now: 0 });
    const chunk = new Uint8Array(256 * 1024).fill(1);
    c.tick(1);
    c.step('a', {
      type: 'InstallSnapshotRequest',
      term: 2,
      leaderId: 'a',
      snapshotId: 100,
      meta: { index: 100, term: 2, config },
      offset: 0,
      totalSize: 4 * chunk.length,
      data: chunk,
      chunkCrc: crc32(chunk),
      done: false,
    });
    const held = () => (c as unknown as { incoming: { received: number } | null }).incoming;
    expect(held()?.received).toBe(chunk.length);
    // Leader a is deposed; b (term 3) replicates with appends from index 0: c follows b now.
    c.step('b', {
      type: 'AppendRequest',
      term: 3,
      leaderId: 'b',
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [{ index: 1, term: 3, entryType: 'noop', command: new Uint8Array(0), timestamp: 0 }],
      leaderCommit: 1,
      readSeq: 1,
    });
    expect(c.leaderId).toBe('b');
    expect(held()).toBeNull();
  });
});
