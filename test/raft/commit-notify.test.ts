import { describe, expect, it } from 'vitest';
import type { AppendRequest, RaftMessage } from '../../generated/index.js';
import { DEFAULT_COMMIT_NOTIFY_DELAY_MS, type RaftConfig } from '../../runtime/raft/raft.js';
import { CoreNet } from './core-net.js';

const ids = ['a', 'b', 'c'];
const enc = (s: string) => new TextEncoder().encode(s);

/** Appends without entries the leader sent since `from` (heartbeats and commit notifications). */
function emptyAppends(net: CoreNet, leader: string, from: number): AppendRequest[] {
  return net.sent
    .slice(from)
    .filter((s) => s.from === leader && s.m.type === 'AppendRequest' && s.m.entries.length === 0)
    .map((s) => s.m as AppendRequest);
}

/** A settled 3-member cluster with a slow heartbeat, so only commit notifications send empty appends. */
function settled(seed: number, cfg: Partial<RaftConfig> = {}): { net: CoreNet; l: string } {
  const net = new CoreNet(ids, { heartbeatInterval: 1000, ...cfg }, seed);
  const l = net.elect();
  net.run(10, 1);
  return { net, l };
}

describe('Raft §5.3 commit propagation: the commit index reaches followers', () => {
  it('with the next append when one goes out within the delay (no separate message)', () => {
    const { net, l } = settled(3);
    const mark = net.sent.length;
    const first = net.core(l).propose(enc('x'));
    net.deliver();
    expect(net.core(l).commit).toBeGreaterThanOrEqual(first.index);
    const second = net.core(l).propose(enc('y'));
    net.deliver();
    for (const f of ids.filter((x) => x !== l))
      expect(net.core(f).commit).toBeGreaterThanOrEqual(first.index);
    expect(emptyAppends(net, l, mark)).toEqual([]);
    expect(net.core(l).commit).toBeGreaterThanOrEqual(second.index);
  });

  it('by one heartbeat per follower once the delay passes when nothing else is sent', () => {
    const { net, l } = settled(4);
    const mark = net.sent.length;
    const w = net.core(l).propose(enc('x'));
    net.deliver();
    const followers = ids.filter((x) => x !== l);
    for (const f of followers) expect(net.core(f).commit).toBeLessThan(w.index);
    expect(net.core(l).nextDeadline()).toBeLessThanOrEqual(net.now + DEFAULT_COMMIT_NOTIFY_DELAY_MS);
    net.run(DEFAULT_COMMIT_NOTIFY_DELAY_MS, 1);
    for (const f of followers) expect(net.core(f).commit).toBeGreaterThanOrEqual(w.index);
    const notes = emptyAppends(net, l, mark);
    expect(notes).toHaveLength(followers.length);
    for (const m of notes) expect(m.leaderCommit).toBe(w.index);
  });

  it('at once with commitNotifyDelay 0 (etcd behaviour)', () => {
    const { net, l } = settled(5, { commitNotifyDelay: 0 });
    const w = net.core(l).propose(enc('x'));
    net.deliver();
    // The follower whose acknowledgement completed the quorum hears of the commit without any delay.
    expect(ids.filter((x) => x !== l).some((f) => net.core(f).commit >= w.index)).toBe(true);
  });

  it('also reaches a follower whose acknowledgement arrives after the commit', () => {
    const { net, l } = settled(6);
    const [fast, slow] = ids.filter((x) => x !== l) as [string, string];
    // Hold the slow follower's acknowledgement back until the entry has committed without it.
    const held: RaftMessage[] = [];
    net.filter = (from, to, m) => {
      if (from !== slow || to !== l || m.type !== 'AppendResponse') return false;
      held.push(m);
      return true;
    };
    const w = net.core(l).propose(enc('x'));
    net.deliver();
    expect(net.core(l).commit).toBeGreaterThanOrEqual(w.index);
    expect(held.length).toBeGreaterThan(0);
    net.filter = null;
    for (const m of held) net.core(l).step(slow, m);
    net.run(DEFAULT_COMMIT_NOTIFY_DELAY_MS, 1);
    expect(net.core(fast).commit).toBeGreaterThanOrEqual(w.index);
    expect(net.core(slow).commit).toBeGreaterThanOrEqual(w.index);
  });
});
