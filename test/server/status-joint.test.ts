/**
 * /status (and `consensus status`) listed the voters of both halves of a joint configuration as
 * plain voters: during a voter change an operator could not see which member was being added or
 * removed. `members[].joint` says it.
 */
import { describe, expect, it } from 'vitest';
import { createCoordinationReplica } from '../../runtime/coordination/codec.js';
import { createRealClock } from '../../runtime/env/real-clock.js';
import type { RaftNode } from '../../runtime/node/node.js';
import { createRequestHandler, jointSide } from '../../runtime/server/handler.js';

function statusWith(config: { voters: string[]; votersOutgoing: string[]; learners: string[] }) {
  const node = {
    id: 'a',
    role: 'leader',
    leaderId: 'a',
    status: () => ({
      id: 'a',
      role: 'leader',
      term: 3,
      leaderId: 'a',
      commitIndex: 9,
      appliedIndex: 9,
      lastIndex: 9,
      snapshotIndex: 0,
      config: { ...config, addresses: [] },
      progress: [],
      joinCheck: null,
    }),
  } as unknown as RaftNode;
  const h = createRequestHandler({
    node,
    replica: createCoordinationReplica(),
    clock: createRealClock(),
    addressOf: () => null,
  });
  try {
    return h.status();
  } finally {
    h.close();
  }
}

describe('members during a joint configuration', () => {
  it('marks the voter being added and the voter being removed; the others carry no mark', () => {
    const s = statusWith({ voters: ['a', 'b', 'd'], votersOutgoing: ['a', 'b', 'c'], learners: ['e'] });
    const byId = Object.fromEntries(s.members.map((m) => [m.id, m]));
    expect(byId.d?.joint).toBe('incoming');
    expect(byId.c?.joint).toBe('outgoing');
    expect(byId.a?.joint).toBeUndefined();
    expect(byId.b?.joint).toBeUndefined();
    expect(byId.e).toMatchObject({ role: 'learner' });
    expect(byId.e?.joint).toBeUndefined();
    expect(
      s.members
        .filter((m) => m.role === 'voter')
        .map((m) => m.id)
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd']);
  });

  it('no change in progress: no member is marked', () => {
    const s = statusWith({ voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [] });
    expect(s.members.every((m) => m.joint === undefined)).toBe(true);
    expect(jointSide({ voters: ['a'], votersOutgoing: [] }, 'a')).toBeUndefined();
  });
});
