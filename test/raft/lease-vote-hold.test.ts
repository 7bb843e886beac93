import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../generated/index.js';
import { PolicyNet } from './policy-net.js';

/**
 * Lease read safety (found by review). A follower that acknowledged the leader's heartbeat promises (through the
 * `inLease` check in Raft.step) not to help elect anyone else for electionTimeoutMin; the leader's
 * lease counts on that promise. But the promise is keyed on `leaderId !== null`, and
 * `becomeFollower(higherTerm, null)` — reached from ANY higher-term message that is not an
 * Append/Snapshot/TimeoutNow, e.g. a late pre-vote rejection — clears leaderId. In the new term the
 * same-term vote path has no lease check at all. So the quorum that backs the lease can vote a new
 * leader in right away, while the old leader still serves lease reads.
 *
 * 5 voters L, B, X, Z, Y. Timeouts are fixed per node (constant randomness) for determinism.
 *   t=150..300  Y climbs to term 2 through two pre-vote rounds (its real VoteRequests are lost);
 *               B and X, pre-candidates at term 0, send PreVote(1) to Y: those frames are delayed.
 *   t=350       L (booted at t=200) is elected in term 1 by B, X, Z; its no-op commits.
 *   t=360       Z is cut off from L (so Z's election timer will run out, Z holds the whole log).
 *   t=550       L's heartbeat is acknowledged by B and X: L's lease runs until 550+150-20 = 680.
 *               The delayed PreVote(1) frames reach Y (term 2), which rejects with term 2:
 *               B and X jump to term 2 with leaderId = null. L is partitioned from everyone.
 *   t=552       Z times out and asks B and X (same term, no leader known) for votes. Before the
 *               fix they granted at once: Z led term 2 and committed a write with B and X while
 *               L's lease still ran, and a lease read on L missed that write.
 * Now B and X hold their votes until 550 + electionTimeoutMin, and the write commits only after
 * L's lease has run out.
 */
describe('§6.4 / §9.6 leases: the vote hold outlives a term change', () => {
  it('no new leader commits while the old leader may still serve a lease read, and one is elected after', () => {
    const h = new PolicyNet(['l', 'b', 'x', 'z', 'y']);
    const r = (ms: number) => (ms + 0.5) / 150; // election timeout 150 + ms
    h.boot('y', r(0)); // 150
    h.boot('b', r(10)); // 160
    h.boot('x', r(20)); // 170
    h.boot('z', r(50)); // 200
    const isVote = (m: RaftMessage) => m.type === 'VoteRequest';
    let phase: 1 | 2 | 3 = 1;
    let lCut = new Set<string>();
    let yReplies = false;
    h.policy = (from, to, m) => {
      if (yReplies && from === 'y' && m.type === 'VoteResponse') return 'deliver';
      // Y: only its pre-votes go out in phase 1; nothing else to or from Y ever (except the
      // delayed frames released by hand below).
      if (from === 'y')
        return phase === 1 && isVote(m) && m.type === 'VoteRequest' && m.isPreVote ? 'deliver' : 'drop';
      if (to === 'y') {
        if ((from === 'b' || from === 'x') && isVote(m)) return 'hold'; // slow frames
        if (phase === 1 && m.type === 'VoteResponse') return 'deliver';
        return 'drop';
      }
      // B, X and Z never get a campaign of their own through before L leads.
      if ((from === 'b' || from === 'x' || from === 'z') && isVote(m) && phase < 3) return 'drop';
      if (lCut.has(`${from}>${to}`)) return 'drop';
      return 'deliver';
    };

    h.runTo(200);
    h.boot('l', r(0)); // fires at 350
    h.runTo(320);
    expect(h.core('y').term).toBe(2);
    phase = 2;
    h.runTo(360);
    const L = h.core('l');
    expect(L.role).toBe('leader');
    expect(L.term).toBe(1);
    expect(L.commit).toBe(1);
    expect(h.core('z').log.lastIndex()).toBe(1);
    lCut = new Set(['l>z', 'z>l']);
    phase = 3;
    h.runTo(550); // heartbeat at 550 acknowledged by B and X
    expect(L.role).toBe('leader');
    expect(L.leaseValid()).toBe(true);

    // The slow PreVote(1) frames from B and X finally reach Y (term 2); Y rejects with its term.
    // Y's rejections (term 2) travel back to B and X.
    yReplies = true;
    expect(h.release((q) => q.to === 'y' && (q.from === 'b' || q.from === 'x'))).toBeGreaterThan(0);
    yReplies = false;
    expect(h.core('b').term).toBe(2);
    expect(h.core('b').leaderId).toBeNull();
    // L is partitioned from everyone from now on.
    lCut = new Set(['b', 'x', 'z', 'y'].flatMap((o) => [`l>${o}`, `${o}>l`]));

    const Z = h.core('z');
    const others = ['b', 'x', 'z', 'y'].map((id) => h.core(id));
    let write: { index: number } | null = null;
    let wroteAt = -1;
    const end = h.now + 1000;
    while (h.now < end && wroteAt < 0) {
      h.runTo(h.now + 1);
      const leader = others.find((c) => c.role === 'leader' && c.term >= 2);
      if (leader === undefined) continue;
      write ??= leader.propose(new TextEncoder().encode('w'));
      h.deliver();
      if (leader.commit >= write.index) wroteAt = h.now;
    }
    // Liveness: the cluster without L elects a leader and commits once the holds have run out.
    expect(wroteAt, 'no write committed without the old leader').toBeGreaterThan(0);
    expect(wroteAt).toBeLessThan(550 + 1000);
    // Safety: by then the old leader's own rule no longer lets it serve a lease read...
    expect(L.role).toBe('leader');
    expect(L.leaseValid()).toBe(false);
    // ...and a lease read it is asked for goes through a ReadIndex round it cannot complete.
    L.readIndex('lease-read', { lease: true });
    h.process();
    expect((h.readStates.get('l') ?? []).find((s) => s.ctx === 'lease-read')).toBeUndefined();
    expect(Z.term).toBeGreaterThanOrEqual(2);
  });
});
