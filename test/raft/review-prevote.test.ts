import { describe, expect, it } from 'vitest';
import { ELECTION_TIMEOUT_MAX_MS } from '../../generated/index.js';
import { CoreNet } from './core-net.js';

const ids3 = ['a', 'b', 'c'];
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

/**
 * Drives a fresh 3-node cluster until `c` is a candidate of term t+1 whose vote requests reached the
 * others but whose vote responses are lost, then cuts `c` off. Returns the term t+1.
 */
function strandCandidate(net: CoreNet): number {
  const c = net.core('c');
  const t = c.term;
  // c times out first; the others are not ticked, so their timers cannot race it.
  net.now = c.nextDeadline();
  c.tick(net.now);
  // Real (non-pre) vote responses to c are lost.
  net.filter = (_from, to, m) => to === 'c' && m.type === 'VoteResponse' && !m.isPreVote;
  net.deliver();
  expect(c.role).toBe('candidate');
  expect(c.term).toBe(t + 1);
  net.filter = null;
  net.isolate('c');
  return t + 1;
}

describe('review: a candidate whose election times out goes back to pre-vote', () => {
  it('with pre-vote, a stranded candidate keeps its term and does not unseat the leader on rejoin', () => {
    for (const seed of SEEDS) {
      const net = new CoreNet(ids3, { preVote: true }, seed);
      const term = strandCandidate(net);
      // Many election timeouts in isolation: each is a failed pre-vote round, never a term bump.
      const roles = new Set<string>();
      for (let i = 0; i < 20; i++) {
        net.run(ELECTION_TIMEOUT_MAX_MS);
        roles.add(net.core('c').role);
        expect(net.core('c').term).toBe(term);
      }
      expect(roles).toEqual(new Set(['pre_candidate']));
      // a and b (which voted for c in `term`) elected a leader of a later term meanwhile.
      const [l] = net.leaders();
      expect(l).toBeDefined();
      const leader = net.core(l as string);
      const lt = leader.term;
      expect(lt).toBeGreaterThan(term);
      net.heal();
      net.run(2000);
      expect(leader.role).toBe('leader');
      expect(leader.term).toBe(lt);
      expect(net.core('c').role).toBe('follower');
      expect(net.core('c').term).toBe(lt);
    }
  });

  it('without pre-vote (calibration), the stranded candidate keeps raising its term and disrupts the leader', () => {
    for (const seed of SEEDS) {
      const net = new CoreNet(ids3, { preVote: false }, seed);
      const term = strandCandidate(net);
      net.run(20 * ELECTION_TIMEOUT_MAX_MS);
      expect(net.core('c').role).toBe('candidate');
      expect(net.core('c').term).toBeGreaterThan(term + 5);
      const [l] = net.leaders();
      expect(l).toBeDefined();
      const lt = net.core(l as string).term;
      net.heal();
      net.run(2000);
      expect(net.core(l as string).term).toBeGreaterThan(lt);
    }
  });
});
