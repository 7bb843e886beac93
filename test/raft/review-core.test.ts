import { describe, expect, it } from 'vitest';
import { ELECTION_TIMEOUT_MIN_MS, type RaftMessage } from '../../generated/index.js';
import { DEFAULT_COMMIT_NOTIFY_DELAY_MS } from '../../runtime/raft/raft.js';
import { CoreNet } from './core-net.js';

const ids3 = ['a', 'b', 'c'];

describe('review: lease reads and leadership transfer', () => {
  it('a leader that sent TimeoutNow serves no lease read even after the transfer timed out', () => {
    const net = new CoreNet(ids3, {}, 21);
    const l = net.elect();
    net.run(100);
    const [t, other] = ids3.filter((x) => x !== l) as [string, string];
    // Hold the TimeoutNow back (a slow link): the transfer times out on the leader meanwhile.
    let held: RaftMessage | null = null;
    net.filter = (from, to, m) => {
      if (m.type === 'TimeoutNow' && from === l && to === t) {
        held = m;
        return true;
      }
      return false;
    };
    net.core(l).transferLeadership(t);
    net.deliver();
    expect(held).not.toBeNull();
    net.run(ELECTION_TIMEOUT_MIN_MS + 10);
    expect(net.core(l).status().transferee).toBeNull();
    expect(net.core(l).role).toBe('leader');
    // The late TimeoutNow arrives; the old leader is cut off from everyone.
    net.filter = null;
    net.isolate(l);
    net.core(t).step(l, held as unknown as RaftMessage);
    net.deliver();
    expect(net.core(t).role).toBe('leader');
    const w = net.core(t).propose(new TextEncoder().encode('w'));
    net.deliver();
    expect(net.core(t).commit).toBeGreaterThanOrEqual(w.index);
    net.run(DEFAULT_COMMIT_NOTIFY_DELAY_MS + 1, 1); // followers learn it from the delayed notification
    expect(net.core(other).commit).toBeGreaterThanOrEqual(w.index);
    // The old leader still believes it leads: a lease read must not be served from its stale state.
    const old = net.core(l);
    expect(old.role).toBe('leader');
    const before = net.readStates.get(l)?.length ?? 0;
    old.readIndex('stale?', { lease: true });
    net.deliver();
    const served = net.readStates.get(l)?.slice(before) ?? [];
    for (const rs of served) expect(rs.index).toBeGreaterThanOrEqual(w.index);
  });
});

describe('review: lease reads and restarts', () => {
  it('a member restarted during the leader lease does not help elect another leader within it', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = new CoreNet(ids3, {}, seed);
      const l = net.elect();
      net.run(100);
      const [iso, rst] = ids3.filter((x) => x !== l) as [string, string];
      // `iso` loses the leader first; `rst` keeps acknowledging for 100 ms, then restarts.
      net.cutLink(l, iso);
      net.cutLink(iso, l);
      net.run(100);
      net.crash(rst);
      net.restart(rst);
      net.cutLink(l, rst);
      net.cutLink(rst, l);
      const old = net.core(l);
      expect(old.leaseValid()).toBe(true);
      // While the old lease runs, `iso` may time out; with `rst`'s vote it must not commit anything
      // that a lease read on the old leader would miss.
      let w: { index: number } | null = null;
      for (let i = 0; i < 40 && old.leaseValid(); i++) {
        net.run(5);
        if (w === null && net.core(iso).role === 'leader') {
          w = net.core(iso).propose(new TextEncoder().encode('w'));
          net.deliver();
        }
        if (w !== null && net.core(iso).commit >= w.index && old.role === 'leader' && old.leaseValid()) {
          const before = net.readStates.get(l)?.length ?? 0;
          old.readIndex('stale?', { lease: true });
          net.deliver();
          for (const rs of net.readStates.get(l)?.slice(before) ?? [])
            expect(rs.index, `seed ${seed}`).toBeGreaterThanOrEqual(w.index);
        }
      }
    }
  });
});
