import { describe, expect, it } from 'vitest';
import type { LogEntry, RaftMessage } from '../../generated/index.js';
import { createRaft, type Raft } from '../../runtime/raft/raft.js';
import type { Ready } from '../../runtime/raft/types.js';
import { CoreNet } from './core-net.js';

/**
 * Raft thesis 10.2.1: the leader may send appends before its own entries are durable, so it counts
 * itself toward commit only up to its durable (stable) index. Here the leader's Ready is held
 * "in flight" (taken, messages sent, not yet advanced) to model a save that has not completed.
 */

const enc = (s: string) => new TextEncoder().encode(s);

/** Persists-and-advances everything a follower has, returning the messages it sent. */
function drainFollower(r: Raft): { to: string; message: RaftMessage }[] {
  const out: { to: string; message: RaftMessage }[] = [];
  while (r.hasReady()) {
    const rd = r.ready();
    out.push(...rd.messages);
    r.advance(rd);
  }
  return out;
}

function setup(): { net: CoreNet; leader: Raft; lid: string; followers: string[] } {
  const net = new CoreNet(['a', 'b', 'c'], {}, 7);
  const lid = net.elect();
  const followers = net.ids.filter((id) => id !== lid);
  return { net, leader: net.core(lid), lid, followers };
}

/** Proposes on the leader and takes its Ready without advancing (its save is "in flight"). */
function proposeInFlight(leader: Raft): { rd: Ready; index: number } {
  const { index } = leader.propose(enc('x'));
  const rd = leader.ready();
  expect(rd.entries.map((e: LogEntry) => e.index)).toContain(index);
  return { rd, index };
}

/** Delivers the leader's appends in `rd` to `f` and its acknowledgements back to the leader. */
function roundTrip(net: CoreNet, lid: string, leader: Raft, rd: Ready, f: string): void {
  for (const m of rd.messages) if (m.to === f) net.core(f).step(lid, m.message);
  for (const m of drainFollower(net.core(f))) if (m.to === lid) leader.step(f, m.message);
}

describe('leader counts itself toward commit only once its entries are durable', () => {
  it('3 members: leader not durable + one follower does not commit; leader durable then does', () => {
    const { net, leader, lid, followers } = setup();
    const { rd, index } = proposeInFlight(leader);
    roundTrip(net, lid, leader, rd, followers[0] as string);
    expect(leader.commit).toBeLessThan(index);
    leader.advance(rd); // the leader's save completed
    expect(leader.commit).toBe(index);
  });

  it('3 members: two followers commit without the leader being durable', () => {
    const { net, leader, lid, followers } = setup();
    const { rd, index } = proposeInFlight(leader);
    for (const f of followers) roundTrip(net, lid, leader, rd, f);
    expect(leader.commit).toBe(index);
    leader.advance(rd);
    expect(leader.commit).toBe(index);
  });

  it('3 members: leader durable alone does not commit', () => {
    const { leader } = setup();
    const { rd, index } = proposeInFlight(leader);
    leader.advance(rd);
    expect(leader.commit).toBeLessThan(index);
  });

  it('single member commits only after its own persist', () => {
    const r = createRaft({ id: 'solo', peers: ['solo'], random: () => 0.5, now: 0 });
    let now = 0;
    while (r.role !== 'leader' && now < 5000) {
      now += 5;
      r.tick(now);
      while (r.hasReady()) r.advance(r.ready());
    }
    expect(r.role).toBe('leader');
    const { index } = r.propose(enc('solo'));
    const rd = r.ready();
    expect(r.commit).toBeLessThan(index);
    r.advance(rd);
    expect(r.commit).toBe(index);
    // The commit is handed out in the next Ready, entry applied after it.
    expect(r.hasReady()).toBe(true);
    const rd2 = r.ready();
    expect(rd2.committedEntries.map((e: LogEntry) => e.index)).toContain(index);
    r.advance(rd2);
    expect(r.applied).toBe(index);
  });
});
