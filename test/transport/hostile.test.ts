/**
 * Hostile network input against node 'a' while a healthy peer 'b' keeps a ping-pong going with it:
 * each attack must close only the attacker's connection, count a metric, keep memory bounded, and
 * leave the healthy exchange running.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAck, FrameDecoder, frameHeader, type TcpNetwork } from '../../runtime/transport/index.js';
import { FAST_LIMITS, helloFrame, rawSocket, startCluster, startLone } from './helpers.js';

let a: TcpNetwork;
let b: TcpNetwork;
let port: number;
let closeAll: () => Promise<void>;
let rounds = 0;
let running = true;
const roundWaiters: Array<() => void> = [];
const fromMallory: Uint8Array[] = [];

/** Resolves after `k` more healthy round trips between a and b. */
function moreRounds(k: number): Promise<void> {
  const target = rounds + k;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`healthy peer stalled at ${rounds}/${target}`)), 5000);
    const check = () => {
      if (rounds >= target) {
        clearTimeout(timer);
        resolve();
      } else roundWaiters.push(check);
    };
    check();
  });
}

/** Re-checks `pred` after every healthy round trip (the ping-pong is the clock); fails after 5 s. */
async function roundsUntil(pred: () => boolean, what: string): Promise<void> {
  const started = performance.now();
  while (!pred()) {
    if (performance.now() - started > 5000) throw new Error(`timed out waiting for ${what}`);
    await moreRounds(1);
  }
}

beforeAll(async () => {
  const c = await startCluster(['a', 'b'], {
    limits: { ...FAST_LIMITS, maxInboundConnections: 40, maxHandshakingConnections: 20 },
  });
  a = c.nets.a!;
  b = c.nets.b!;
  port = c.ports.a!;
  closeAll = c.close;
  a.onReceive((from, frame) => {
    if (from === 'b') a.send('b', frame);
    else fromMallory.push(frame);
  });
  b.onReceive((from, frame) => {
    if (from !== 'a') return;
    rounds++;
    for (const w of roundWaiters.splice(0)) w();
    if (running) b.send('a', frame);
  });
  b.send('a', Buffer.from('ping'));
  await moreRounds(3);
});

afterAll(async () => {
  running = false;
  await closeAll();
  // Nothing an attacker sent was ever delivered as a frame from a peer other than b.
  expect(fromMallory).toEqual([]);
});

describe('hostile input', () => {
  it('random bytes before the handshake: connection closed, counted, node keeps serving', async () => {
    const before = a.metrics();
    for (let i = 0; i < 10; i++) {
      const s = await rawSocket(port);
      const junk = randomBytes(64 * 1024);
      junk[0] = 0x10 + i; // a length above the handshake limit, whatever the rest is
      s.socket.write(junk);
      await s.closed;
      await moreRounds(1);
    }
    const after = a.metrics();
    const tooLarge = (x: typeof before) => x.rejectedByReason['frame-too-large'] ?? 0;
    expect(tooLarge(after) - tooLarge(before)).toBe(10);
    expect(after.rejectedHandshakes - before.rejectedHandshakes).toBeGreaterThanOrEqual(10);
    expect(after.malformedFrames - before.malformedFrames).toBe(10);
    expect(after.inboundBufferedBytes).toBe(0);
  });

  it('random bytes after a valid handshake close that connection with malformedFrames', async () => {
    const before = a.metrics().malformedFrames;
    const s = await rawSocket(port);
    // Posing as a member (an unknown id is refused at the handshake, see below).
    s.socket.write(helloFrame({ senderId: 'b', receiverId: 'a' }));
    const junk = randomBytes(32 * 1024);
    junk[0] = 0x01; // length >= 16 MiB, above the 1 MiB limit
    s.socket.write(junk);
    await s.closed;
    expect(s.received().length).toBeGreaterThan(0); // the ACK came first
    expect(a.metrics().malformedFrames).toBe(before + 1);
    await moreRounds(3);
  });

  it('a peer id that is not a known member is refused at the handshake (unknown-peer)', async () => {
    const before = a.metrics().rejectedByReason['unknown-peer'] ?? 0;
    const s = await rawSocket(port);
    s.socket.write(helloFrame({ senderId: 'mallory', receiverId: 'a' }));
    s.socket.write(Buffer.concat([frameHeader(4), Buffer.from('evil')]));
    await s.closed;
    expect(a.metrics().rejectedByReason['unknown-peer']).toBe(before + 1);
    await moreRounds(3); // b still served; afterAll checks nothing from mallory was delivered
  });

  it('a length field of 2^31 is refused on its 4th byte, before and after the handshake', async () => {
    const s1 = await rawSocket(port);
    s1.socket.write(Buffer.of(0x80, 0, 0, 0));
    await s1.closed;
    const s2 = await rawSocket(port);
    s2.socket.write(helloFrame({ senderId: 'b' }));
    s2.socket.write(Buffer.of(0x80, 0, 0, 0));
    await s2.closed;
    expect(a.metrics().rejectedByReason['frame-too-large']).toBeGreaterThanOrEqual(1);
    await moreRounds(3);
  });

  it('truncated frames: held bytes are bounded by what arrived and released on close', async () => {
    const sockets = [];
    for (let i = 0; i < 20; i++) {
      const s = await rawSocket(port);
      s.socket.write(helloFrame({ senderId: 'b' }));
      s.socket.write(frameHeader(FAST_LIMITS.maxFrameBytes)); // claims 1 MiB ...
      s.socket.write(Buffer.alloc(1000)); // ... sends 1000 bytes
      sockets.push(s);
    }
    // Wait until a has taken every byte in (each connection holds exactly its 1000 bytes).
    await roundsUntil(() => a.metrics().inboundBufferedBytes >= 20 * 1000, 'bytes taken in');
    expect(a.metrics().inboundBufferedBytes).toBe(20 * 1000); // not 20 MiB: nothing pre-allocated
    await moreRounds(2);
    for (const s of sockets) s.socket.end();
    await Promise.all(sockets.map((s) => s.closed));
    // A truncated handshake too.
    const t = await rawSocket(port);
    t.socket.end(helloFrame({}).subarray(0, 9));
    await t.closed;
    await moreRounds(2);
    expect(a.metrics().inboundBufferedBytes).toBe(0);
    expect(a.metrics().activeInbound).toBe(1); // only b
  });

  it('a peer of another cluster or protocol version is refused with the reason in the ACK', async () => {
    const before = a.metrics();
    const s = await rawSocket(port);
    s.socket.write(helloFrame({ clusterId: 'evil' }));
    s.socket.write(Buffer.concat([frameHeader(3), Buffer.from('abc')]));
    await s.closed;
    expect(s.received().toString('latin1')).toContain('evil');
    const v = await rawSocket(port);
    v.socket.write(helloFrame({ version: 2 }));
    await v.closed;
    const after = a.metrics();
    expect((after.rejectedByReason.cluster ?? 0) - (before.rejectedByReason.cluster ?? 0)).toBe(1);
    expect((after.rejectedByReason.version ?? 0) - (before.rejectedByReason.version ?? 0)).toBe(1);
    await moreRounds(3);
  });

  it('a real node of another cluster is refused on both sides', async () => {
    const { createTcpNetwork } = await import('../../runtime/transport/index.js');
    const evil = createTcpNetwork({
      nodeId: 'e',
      clusterId: 'other',
      listen: { host: '127.0.0.1', port: 0 },
      peers: { a: `127.0.0.1:${port}` },
      limits: FAST_LIMITS,
    });
    await evil.start();
    const refused = new Promise<string>((resolve) =>
      evil.onEvent((e) => {
        if (e.type === 'handshake-rejected') resolve(e.reason);
      }),
    );
    evil.send('a', Buffer.from('let me in'));
    expect(await refused).toBe('cluster');
    expect(evil.metrics().rejectedHandshakes).toBeGreaterThanOrEqual(1);
    expect(evil.metrics().framesOut).toBe(0);
    await evil.close();
    await moreRounds(3);
  });

  it('slow-loris: silent and trickling connections are closed after the handshake timeout', async () => {
    const before = a.metrics().handshakeTimeouts;
    const started = performance.now();
    const silent = await rawSocket(port);
    const trickle = await rawSocket(port);
    const hello = helloFrame({});
    let i = 0;
    const interval = setInterval(() => {
      if (i < hello.length && !trickle.socket.destroyed) trickle.socket.write(hello.subarray(i, ++i));
    }, 40);
    try {
      await Promise.all([silent.closed, trickle.closed]);
    } finally {
      clearInterval(interval);
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(FAST_LIMITS.handshakeTimeoutMs - 20);
    expect(i).toBeLessThan(hello.length); // closed before the trickled HELLO could complete
    expect(a.metrics().handshakeTimeouts - before).toBe(2);
    await moreRounds(3);
  });

  it('a flood of connections that never handshake refuses nobody; the healthy peer is unaffected', async () => {
    const before = a.metrics();
    const socks = await Promise.all(Array.from({ length: 50 }, () => rawSocket(port)));
    await roundsUntil(
      () => a.metrics().connectionsAccepted >= before.connectionsAccepted + 50,
      'all accepted',
    );
    await moreRounds(5); // during the flood
    expect(
      (a.metrics().rejectedByReason['too-many-connections'] ?? 0) -
        (before.rejectedByReason['too-many-connections'] ?? 0),
    ).toBe(0);
    // A client arriving in the middle of the flood gets in.
    const late = await rawSocket(port);
    late.socket.write(helloFrame({ kind: 'client', clusterId: 'c1', senderId: 'late' }));
    await roundsUntil(() => late.received().length > 0, 'the late client ACK');
    expect(decodeAck(new FrameDecoder().push(late.received())[0]!).rejected).toBeNull();
    late.socket.destroy();
    // The handshake timeout (or the handshake budget) closes every one of them.
    await roundsUntil(
      () => (a.metrics().rejectedByReason.timeout ?? 0) - (before.rejectedByReason.timeout ?? 0) >= 50,
      'the flood closed',
    );
    for (const s of socks) s.socket.destroy();
    await Promise.all(socks.map((s) => s.closed));
    await moreRounds(3);
  });
});

describe('post-handshake resource limits', () => {
  it('a partial frame that makes no progress is closed after frameTimeoutMs; a progressing stream is not', async () => {
    const { z, port: zp } = await startLone({ frameTimeoutMs: 400 });
    try {
      const got: string[] = [];
      let allIn: () => void = () => {};
      const twenty = new Promise<void>((r) => {
        allIn = r;
      });
      z.onReceive((_from, f) => {
        if (got.push(Buffer.from(f).toString()) === 20) allIn();
      });
      // Progressing: every 40 ms the rest of one frame and the first half of the next, so the
      // buffer never empties but frames keep completing.
      const ok = await rawSocket(zp);
      ok.socket.write(helloFrame({ senderId: 'steady' }));
      const frame = (i: number) =>
        Buffer.concat([frameHeader(6), Buffer.from(`f-${String(i).padStart(4, '0')}`)]);
      ok.socket.write(frame(0).subarray(0, 5));
      let i = 0;
      const done = new Promise<void>((resolve) => {
        const iv = setInterval(() => {
          ok.socket.write(Buffer.concat([frame(i).subarray(5), frame(i + 1).subarray(0, 5)]));
          i++;
          if (i === 20) {
            clearInterval(iv);
            resolve();
          }
        }, 40);
      });
      // Stalled: the header and 10 of 100 bytes, then nothing.
      const stalled = await rawSocket(zp);
      const started = performance.now();
      stalled.socket.write(helloFrame({ senderId: 'stalled' }));
      stalled.socket.write(Buffer.concat([frameHeader(100), Buffer.alloc(10)]));
      await stalled.closed;
      expect(performance.now() - started).toBeGreaterThanOrEqual(380);
      await done; // 800 ms of steady progress, twice the timeout
      await twenty;
      expect(got).toEqual(Array.from({ length: 20 }, (_, k) => `f-${String(k).padStart(4, '0')}`));
      expect(ok.socket.destroyed).toBe(false);
      expect(z.metrics().frameTimeouts).toBe(1);
      // Once the steady sender stalls too, it is closed as well.
      await ok.closed;
      expect(z.metrics().frameTimeouts).toBe(2);
    } finally {
      await z.close();
    }
  });

  it('the inbound buffer budget closes the connections that exceed it; the survivor still works', async () => {
    const { z, port: zp } = await startLone({ maxInboundBufferedBytes: 50_000 });
    try {
      z.onClientRequest((_id, f, reply) => reply(f.subarray(0, 3)));
      const socks = await Promise.all([0, 1, 2].map(() => rawSocket(zp)));
      let closedCount = 0;
      const twoClosed = new Promise<void>((resolve) => {
        for (const s of socks) void s.closed.then(() => ++closedCount === 2 && resolve());
      });
      for (const [k, s] of socks.entries()) {
        s.socket.write(helloFrame({ kind: 'client', clusterId: '', senderId: `hog-${k}` }));
        const head = Buffer.alloc(8);
        head.writeUInt32BE(30_004, 0);
        head.writeUInt32BE(7, 4);
        s.socket.write(Buffer.concat([head, Buffer.alloc(30_000 - 4, 0x61)])); // 4 bytes short
      }
      await twoClosed;
      expect(z.metrics().overloadCloses).toBe(2);
      expect(z.metrics().inboundBufferedBytes).toBe(30_000);
      const survivor = socks.find((s) => !s.socket.destroyed)!;
      const reply = new Promise<Buffer>((resolve) => survivor.socket.once('data', (d: Buffer) => resolve(d)));
      survivor.socket.write(Buffer.from('aaaa'));
      const r = await reply;
      expect(r.readUInt32BE(0)).toBe(7); // envelope length 4 + 3
      expect(r.subarray(8).toString()).toBe('aaa');
      expect(z.metrics().inboundBufferedBytes).toBe(0);
      for (const s of socks) s.socket.destroy();
    } finally {
      await z.close();
    }
  });
});
