/**
 * Raft §5.2/§5.4 assume stable storage: a voter never forgets its log or its vote. A voter whose
 * data dir was emptied and that came back with `--join` used to vote at once, with an empty log,
 * for any candidate, so a lagging member could be elected and overwrite entries that the wiped
 * member had helped commit (a review lost 591 acknowledged writes that way). A member started fresh
 * to join (`freshJoin`) now withholds its vote until the first configuration naming it shows it as
 * a newcomer; one that already counted it as a voter marks its log as lost and it never votes.
 */
import { describe, expect, it } from 'vitest';
import { CoreNet } from './core-net.js';

const ids3 = ['a', 'b', 'c'];

/** Elects a leader and names the two others. */
function roles(net: CoreNet): { leader: string; x: string; y: string } {
  const leader = net.elect();
  const [x, y] = ids3.filter((id) => id !== leader) as [string, string];
  return { leader, x, y };
}

describe('a voter whose data dir was emptied, back with --join (stable storage, §5.2)', () => {
  it('does not help a lagging member win: the entries it helped commit survive', () => {
    const net = new CoreNet(ids3, {}, 5);
    const { leader, x: lagger, y: wiped } = roles(net);
    net.crash(lagger);
    const written: string[] = [];
    for (let i = 0; i < 10; i++) {
      const text = `w${i}`;
      net.propose(leader, text);
      written.push(text);
    }
    net.run(50);
    // Committed on {leader, wiped}: a majority of three.
    expect(net.appliedCommands(leader)).toEqual(written);

    net.crash(leader);
    net.crash(wiped);
    net.wipeAndJoin(wiped);
    net.restart(lagger);
    net.run(3000);
    // The lagger alone cannot win; before, the wiped member's vote elected it.
    expect(net.leaders()).toEqual([]);
    expect(net.core(wiped).status().joinCheck).toBe('pending');

    net.restart(leader);
    const next = net.elect();
    expect(next).toBe(leader); // the only member holding the committed entries
    net.run(200);
    for (const id of [leader, lagger])
      expect(net.appliedCommands(id).slice(0, written.length), id).toEqual(written);
    // It learns no configuration naming it (the initial one is not in the log): still unjudged,
    // so it still never votes.
    expect(net.core(wiped).status().joinCheck).toBe('pending');
    net.crash(leader);
    net.run(3000);
    expect(net.leaders()).toEqual([]);
  });

  it('a voter once added as a learner and promoted is judged by the configuration of now, not by its own addition in the log', () => {
    const net = new CoreNet(
      ['a', 'b', 'c', 'd'],
      { initialConfig: { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [], addresses: [] } },
      21,
    );
    const leader = net.elect();
    net.core(leader).proposeConfChange({ changeType: 'add_learner', nodeId: 'd', address: 'd:1' });
    net.run(200);
    net.core(leader).proposeConfChange({ changeType: 'promote_learner', nodeId: 'd', address: '' });
    net.run(500);
    net.propose(leader, 'w0');
    expect(net.core(leader).config().voters).toEqual(['a', 'b', 'c', 'd']);
    net.crash('d');
    net.wipeAndJoin('d');
    net.run(300);
    // Its log replays its addition as a learner first; the configuration of today counts it as a
    // voter already.
    expect(net.core('d').status().joinCheck).toBe('lost_log');
    // A restart keeps it so (judged again once caught up).
    net.crash('d');
    net.restart('d', { freshJoin: true });
    expect(net.core('d').status().joinCheck).toBe('pending');
    net.run(300);
    expect(net.core('d').status().joinCheck).toBe('lost_log');
    // Four voters, the leader and one more down: d's vote would be needed and is withheld.
    const other = ['a', 'b', 'c'].find((id) => id !== leader) as string;
    net.crash(leader);
    net.crash(other);
    net.run(3000);
    expect(net.leaders()).toEqual([]);
  });
});

describe('a newcomer started with --join', () => {
  const four = {
    initialConfig: { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [], addresses: [] },
  };

  it('added as a learner and promoted, votes like any voter', () => {
    const net = new CoreNet(['a', 'b', 'c', 'd'], four, 13);
    net.wipeAndJoin('d');
    const leader = net.elect();
    net.core(leader).proposeConfChange({ changeType: 'add_learner', nodeId: 'd', address: 'd:1' });
    net.run(200);
    expect(net.core('d').status().joinCheck).toBe('ok');
    net.core(leader).proposeConfChange({ changeType: 'promote_learner', nodeId: 'd', address: '' });
    net.run(500);
    expect(net.core(leader).config().voters).toEqual(['a', 'b', 'c', 'd']);
    // Four voters, the leader down: the other two need d's vote.
    net.crash(leader);
    expect(net.elect()).not.toBe(leader);
  });

  it('added directly as a voter (an incoming voter of the joint configuration) votes too', () => {
    const net = new CoreNet(['a', 'b', 'c', 'd'], four, 17);
    net.wipeAndJoin('d');
    const leader = net.elect();
    net.core(leader).proposeConfChange({ changeType: 'add_voter', nodeId: 'd', address: 'd:1' });
    net.run(500);
    expect(net.core('d').status().joinCheck).toBe('ok');
    net.crash(leader);
    expect(net.elect()).not.toBe(leader);
  });

  it('a member started normally is not checked', () => {
    const net = new CoreNet(ids3, {}, 3);
    net.elect();
    for (const id of ids3) expect(net.core(id).status().joinCheck).toBeNull();
  });
});
