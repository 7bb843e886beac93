import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../generated/index.js';
import { CoreNet } from './core-net.js';

/**
 * A leader sending a snapshot in chunks over a link with some latency (10 ms each way, below the
 * 50 ms heartbeat). Every heartbeat re-sends the current chunk and the follower refuses the copy it
 * already has; answering such a refusal with yet another chunk started one more request/reply chain
 * per heartbeat, so the chunks sent grew with the square of the transfer time. Only a different
 * offset moves the transfer on now, and the chunks sent stay near the chunk count.
 */
describe('snapshot chunk transfer', () => {
  it('does not multiply the chunks in flight with every heartbeat', () => {
    const chunk = 1000;
    const size = 100 * chunk; // 100 chunks
    const net = new CoreNet(['a', 'b', 'c'], { snapshotChunkBytes: chunk, maxLogEntries: 1 }, 7);
    const leader = net.elect();
    net.isolate('c');
    for (let i = 0; i < 20; i++) net.propose(leader, `v${i}`);
    net.run(20);
    const l = net.core(leader);
    const { meta } = l.createSnapshot(l.applied, new Uint8Array(size).fill(7));
    expect(l.log.snapshotIndex).toBeGreaterThan(net.core('c').log.lastIndex() + 1); // c needs a snapshot
    net.heal();

    // From here on: delayed delivery (10 ms per message), 1 ms steps.
    const latency = 10;
    const inflight: { at: number; from: string; to: string; m: RaftMessage }[] = [];
    const pump = () => {
      net.process();
      for (const q of net.queue) inflight.push({ ...q, at: net.now + latency });
      net.queue = [];
    };
    let chunksSent = 0;
    const sentBefore = net.sent.length;
    const c = net.core('c');
    const start = net.now;
    while (c.log.snapshotIndex < meta.index && net.now - start < 60_000) {
      net.now += 1;
      for (const id of net.ids) net.core(id).tick(net.now);
      pump();
      for (;;) {
        const k = inflight.findIndex((q) => q.at <= net.now);
        if (k < 0) break;
        const q = inflight.splice(k, 1)[0] as (typeof inflight)[number];
        const r = net.core(q.to);
        r.tick(net.now);
        r.step(q.from, q.m);
        pump();
      }
    }
    for (const s of net.sent.slice(sentBefore))
      if (s.to === 'c' && s.m.type === 'InstallSnapshotRequest') chunksSent++;
    const elapsed = net.now - start;
    console.log(`installed after ${elapsed} ms; ${chunksSent} chunks sent for ${size / chunk} chunks`);
    expect(c.log.snapshotIndex).toBe(meta.index);
    // 100 chunks, one round trip (20 ms) each, plus at most one extra copy per heartbeat (50 ms).
    expect(chunksSent).toBeLessThanOrEqual(size / chunk + Math.ceil(elapsed / 50) + 5);
  });
});
