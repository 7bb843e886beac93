/**
 * Log compaction (Raft §7) keeps the entries a recently active follower still lacks, also across
 * the check-quorum period that clears the activity flags: it compacts with the flags of the period
 * that just ended.
 */
import { describe, expect, it } from 'vitest';
import { ELECTION_TIMEOUT_MIN_MS } from '../../generated/index.js';
import { CoreNet } from './core-net.js';

describe('log compaction keeps what a recently active follower lacks', () => {
  it('the check-quorum re-run does not compact past a catching-up, active follower', () => {
    const ids = ['a', 'b', 'c'];
    const net = new CoreNet(ids, { maxAppendEntries: 1, maxInflight: 1 }, 5);
    const l = net.elect();
    const [f, other] = ids.filter((x) => x !== l) as [string, string];
    net.run(50);
    // f falls behind: entry-bearing appends to it are dropped while 60 commands commit.
    net.filter = (_from, to, m) => to === f && m.type === 'AppendRequest' && m.entries.length > 0;
    for (let i = 0; i < 60; i++) net.propose(l, `v${i}`);
    net.run(20);
    // f now catches up slowly (one entry-bearing append per 20 ms), answering all along.
    let lastAllowed = -1;
    net.filter = (_from, to, m) => {
      if (to !== f || m.type !== 'AppendRequest' || m.entries.length === 0) return false;
      if (net.now - lastAllowed < 20) return true;
      lastAllowed = net.now;
      return false;
    };
    net.run(100);
    const leader = net.core(l);
    const pf = () => leader.status().progress.find((p) => p.id === f);
    const match0 = pf()?.match ?? 0;
    expect(match0).toBeGreaterThan(0);
    expect(match0).toBeLessThan(leader.applied - 10);
    leader.createSnapshot(leader.applied, new Uint8Array([1]));
    // The snapshot keeps the suffix f still needs.
    expect(leader.log.snapshotIndex).toBeLessThanOrEqual(match0);
    expect(net.core(other).role).toBe('follower');
    // Over the next check-quorum period f stays active and keeps catching up from the log: it
    // must never be sent the snapshot (the compaction must keep what it lacks).
    const sentBefore = net.sent.length;
    let minGap = Number.POSITIVE_INFINITY;
    for (let t = 0; t < ELECTION_TIMEOUT_MIN_MS + 10; t += 5) {
      net.run(5);
      minGap = Math.min(minGap, (pf()?.match ?? 0) - leader.log.snapshotIndex);
    }
    const snaps = net.sent
      .slice(sentBefore)
      .filter((s) => s.to === f && s.m.type === 'InstallSnapshotRequest');
    expect({ snapshotsSentToF: snaps.length, minGap: Math.min(minGap, 0) }).toEqual({
      snapshotsSentToF: 0,
      minGap: 0,
    });
  });
});
