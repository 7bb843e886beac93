/**
 * Raft thesis 6.4 (ReadIndex): a read pending while a membership change shrinks the cluster to the
 * leader alone is served once the leader is the only voter (the member that left never acks).
 */
import { describe, expect, it } from 'vitest';
import { CoreNet } from './core-net.js';

describe('a ReadIndex pending while the cluster shrinks to the leader alone', () => {
  it('is served (or failed) once the leader is the only voter, never left pending forever', () => {
    const net = new CoreNet(['a', 'b'], {}, 3);
    const l = net.elect();
    const o = l === 'a' ? 'b' : 'a';
    net.run(100);
    const leader = net.core(l);
    // Remove the follower: the joint entry goes out to it (its ack carries an older read_seq).
    leader.proposeConfChange({ changeType: 'remove_node', nodeId: o, address: '' });
    net.process();
    // A read arrives while the joint configuration {l} & {l,o} is not yet committed.
    leader.readIndex('r1');
    net.deliver();
    // The joint entry committed on o's ack, the leader appended C_new = {l} and dropped o's
    // progress, so o's ack of the read's heartbeat was ignored.
    expect(leader.role).toBe('leader');
    expect(leader.status().config.voters).toEqual([l]);
    expect(leader.status().config.votersOutgoing).toEqual([]);
    net.run(5000);
    // A later read is served at once (single voter) ...
    leader.readIndex('r2');
    net.deliver();
    const ctxs = (net.readStates.get(l) ?? []).map((r) => r.ctx);
    expect(ctxs).toContain('r2');
    // ... but r1, issued before, is still pending in the core: the driver's promise never settles.
    expect(ctxs).toContain('r1');
  });
});
