import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createTcpNetwork,
  decodeHello,
  encodeAck,
  encodeFrame,
  FrameDecoder,
} from '../../runtime/transport/index.js';
import { FAST_LIMITS, freePort, Inbox, startCluster, waitForEvent } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const bytes = (s: string): Uint8Array => Buffer.from(s);

describe('TCP network', () => {
  it('delivers frames both ways, in order, on ports chosen by the OS', async () => {
    const c = await startCluster(['a', 'b', 'c']);
    cleanups.push(c.close);
    expect(c.ports.a).toBeGreaterThan(0);
    const inbox = Object.fromEntries(Object.entries(c.nets).map(([id, n]) => [id, new Inbox(n)]));
    for (let i = 0; i < 50; i++) {
      c.nets.a!.send('b', bytes(`a${i}`));
      c.nets.b!.send('a', bytes(`b${i}`));
      c.nets.c!.send('a', bytes(`c${i}`));
    }
    await inbox.b!.until(() => inbox.b!.frames.length === 50, 'b receives 50');
    await inbox.a!.until(() => inbox.a!.frames.length === 100, 'a receives 100');
    const seq = (p: string) => Array.from({ length: 50 }, (_, i) => `${p}${i}`);
    expect(inbox.b!.texts('a')).toEqual(seq('a'));
    expect(inbox.a!.texts('b')).toEqual(seq('b'));
    expect(inbox.a!.texts('c')).toEqual(seq('c'));
    const m = c.nets.a!.metrics();
    expect(m.framesOut).toBe(50);
    expect(m.framesIn).toBe(100);
    expect(m.bytesOut).toBeGreaterThan(50 * 6);
    expect(m.peers.b!.connected).toBe(true);
    expect(m.activeInbound).toBe(2);
  });

  it('frames of every size sent in one tick arrive whole and in order, batched into writes or not', async () => {
    const c = await startCluster(['a', 'b']);
    cleanups.push(c.close);
    const inbox = new Inbox(c.nets.b!);
    c.nets.a!.send('b', bytes('hello'));
    await inbox.until(() => inbox.frames.length === 1, 'b receives the first frame');
    // Around the 64 KiB batch limit (4-byte headers included), far above it, and small ones between.
    const sizes = [1, 100, 64 * 1024 - 4, 64 * 1024 - 3, 0, 10, 200 * 1024, 7, 30_000, 40_000, 65_000, 3];
    const sent = sizes.map((n, i) => Uint8Array.from({ length: n }, (_, k) => (i * 31 + k) & 0xff));
    const before = c.nets.a!.metrics();
    for (const f of sent) c.nets.a!.send('b', f);
    c.nets.a!.flush();
    await inbox.until(() => inbox.frames.length === 1 + sent.length, 'b receives every frame');
    expect(inbox.frames.slice(1).map((f) => Buffer.from(f.frame).toString('hex'))).toEqual(
      sent.map((f) => Buffer.from(f).toString('hex')),
    );
    const after = c.nets.a!.metrics();
    expect(after.framesOut - before.framesOut).toBe(sent.length);
    expect(after.bytesOut - before.bytesOut).toBe(sizes.reduce((t, n) => t + 4 + n, 0));
  });

  it('delivers to itself without a socket and counts frames to unknown peers or too large as dropped', async () => {
    const c = await startCluster(['a']);
    cleanups.push(c.close);
    const inbox = new Inbox(c.nets.a!);
    c.nets.a!.send('a', bytes('me'));
    c.nets.a!.send('nobody', bytes('x'));
    c.nets.a!.send('a', new Uint8Array(FAST_LIMITS.maxFrameBytes + 1));
    await inbox.until(() => inbox.frames.length === 1, 'self delivery');
    expect(inbox.texts('a')).toEqual(['me']);
    expect(c.nets.a!.metrics().droppedFrames).toBe(2);
  });

  it('a handler that throws does not stop delivery', async () => {
    const c = await startCluster(['a', 'b']);
    cleanups.push(c.close);
    c.nets.b!.onReceive(() => {
      throw new Error('boom');
    });
    const inbox = new Inbox(c.nets.b!);
    c.nets.a!.send('b', bytes('1'));
    c.nets.a!.send('b', bytes('2'));
    await inbox.until(() => inbox.frames.length === 2, 'both frames despite the throwing handler');
  });

  it('reconnects after the peer restarts and delivers frames queued meanwhile', async () => {
    const c = await startCluster(['a', 'b']);
    cleanups.push(c.close);
    const inboxB = new Inbox(c.nets.b!);
    c.nets.a!.send('b', bytes('before'));
    await inboxB.until(() => inboxB.frames.length === 1, 'first frame');
    const gone = waitForEvent(
      c.nets.a!,
      (e) => (e?.type === 'peer-disconnected' && e.peer === 'b' ? true : undefined),
      'a sees b go',
    );
    await c.nets.b!.close();
    await gone;
    for (let i = 0; i < 5; i++) c.nets.a!.send('b', bytes(`while-down-${i}`));
    const b2 = createTcpNetwork({
      nodeId: 'b',
      clusterId: 'c1',
      listen: { host: '127.0.0.1', port: c.ports.b! },
      peers: { a: `127.0.0.1:${c.ports.a}` },
      limits: FAST_LIMITS,
    });
    cleanups.push(() => b2.close());
    const inbox2 = new Inbox(b2);
    await b2.start();
    await inbox2.until(() => inbox2.frames.length === 5, 'queued frames after restart');
    expect(inbox2.texts('a')).toEqual([0, 1, 2, 3, 4].map((i) => `while-down-${i}`));
    expect(c.nets.a!.metrics().peers.b!.reconnects).toBe(1);
    // And the other direction works with the new incarnation.
    const inboxA = new Inbox(c.nets.a!);
    b2.send('a', bytes('hello again'));
    await inboxA.until(() => inboxA.frames.length === 1, 'b2 -> a');
  });

  for (const policy of ['drop-oldest', 'drop-new'] as const) {
    it(`bounds the queue of an unreachable peer and counts drops (${policy})`, async () => {
      const port = await freePort();
      const a = createTcpNetwork({
        nodeId: 'a',
        clusterId: 'c1',
        listen: { host: '127.0.0.1', port: 0 },
        peers: { b: `127.0.0.1:${port}` },
        limits: { ...FAST_LIMITS, maxQueueFrames: 10, queueOverflow: policy },
      });
      cleanups.push(() => a.close());
      await a.start();
      for (let i = 0; i < 25; i++) a.send('b', bytes(`f${i}`));
      const m = a.metrics();
      expect(m.droppedFrames).toBe(15);
      expect(m.peers.b).toMatchObject({ queuedFrames: 10, droppedFrames: 15, connected: false });
      // Let the reconnect loop fail at least once against the closed port before b appears.
      await waitForEvent(a, (e) => (e?.type === 'connection-closed' ? true : undefined), 'a failed connect');
      const b = createTcpNetwork({
        nodeId: 'b',
        clusterId: 'c1',
        listen: { host: '127.0.0.1', port },
        peers: {},
        limits: FAST_LIMITS,
      });
      cleanups.push(() => b.close());
      const inbox = new Inbox(b);
      await b.start();
      await inbox.until(() => inbox.frames.length === 10, '10 surviving frames');
      const first = policy === 'drop-oldest' ? 15 : 0;
      expect(inbox.texts('a')).toEqual(Array.from({ length: 10 }, (_, i) => `f${first + i}`));
    });
  }

  it('stops writing when the socket is backpressured, bounds the queue, and resumes on drain', async () => {
    // A raw receiver that completes the handshake as 'b' and then stops reading.
    let receiver: net.Socket | undefined;
    let received = 0;
    const onCount: Array<() => void> = [];
    const srv = net.createServer((s) => {
      receiver = s;
      const dec = new FrameDecoder(1 << 20);
      let hello = false;
      s.on('data', (chunk: Buffer) => {
        for (const f of dec.push(chunk)) {
          if (!hello) {
            hello = true;
            expect(decodeHello(f).senderId).toBe('a');
            s.write(
              encodeFrame(encodeAck({ rejected: null, clusterId: 'c1', responderId: 'b', message: '' })),
            );
            continue;
          }
          received++;
          for (const w of onCount.splice(0)) w();
        }
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    const a = createTcpNetwork({
      nodeId: 'a',
      clusterId: 'c1',
      listen: { host: '127.0.0.1', port: 0 },
      peers: { b: `127.0.0.1:${(srv.address() as net.AddressInfo).port}` },
      limits: { ...FAST_LIMITS, maxQueueFrames: 16 },
    });
    cleanups.push(async () => {
      receiver?.destroy();
      await a.close();
    });
    const connected = waitForEvent(a, (e) => (e?.type === 'peer-connected' ? true : undefined), 'connected');
    a.send('b', bytes('warm-up'));
    await connected;
    const waitCount = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (received >= n ? resolve() : onCount.push(check));
        check();
      });
    await waitCount(1);
    receiver!.pause();
    const N = 400;
    const big = new Uint8Array(64 * 1024);
    // Batches of 8 (half the queue bound), yielding between them so each batch is flushed: the
    // queue can only overflow once the socket reports backpressure.
    for (let i = 0; i < N; i++) {
      a.send('b', big);
      if (i % 8 === 7) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
    const m = a.metrics();
    const written = m.framesOut - 1;
    expect(m.droppedFrames).toBeGreaterThan(0);
    expect(m.peers.b!.queuedFrames).toBeLessThanOrEqual(16);
    expect(written + m.peers.b!.queuedFrames + m.droppedFrames).toBe(N);
    expect(written).toBeLessThan(N);
    expect(written).toBeGreaterThan(16); // some were written before the kernel buffers filled
    // Resume reading: the queue drains onto the socket and every written frame arrives.
    receiver!.resume();
    const expected = 1 + written + m.peers.b!.queuedFrames;
    await waitCount(expected);
    expect(received).toBe(expected);
    expect(a.metrics().peers.b!.queuedFrames).toBe(0);
  });

  it('setPeers adds and removes peers', async () => {
    const c = await startCluster(['a', 'b']);
    cleanups.push(c.close);
    const d = createTcpNetwork({
      nodeId: 'd',
      clusterId: 'c1',
      listen: { host: '127.0.0.1', port: 0 },
      peers: {},
      limits: FAST_LIMITS,
    });
    cleanups.push(() => d.close());
    const port = (await d.start()).port;
    const inbox = new Inbox(d);
    c.nets.a!.setPeers({ a: `127.0.0.1:${c.ports.a}`, b: `127.0.0.1:${c.ports.b}`, d: `127.0.0.1:${port}` });
    c.nets.a!.send('d', bytes('welcome'));
    await inbox.until(() => inbox.frames.length === 1, 'new peer reached');
    // d moves: a new incarnation of 'd' on another port; a follows the new address.
    const d2 = createTcpNetwork({
      nodeId: 'd',
      clusterId: 'c1',
      listen: { host: '127.0.0.1', port: 0 },
      peers: {},
      limits: FAST_LIMITS,
    });
    cleanups.push(() => d2.close());
    const port2 = (await d2.start()).port;
    const inbox2 = new Inbox(d2);
    c.nets.a!.setPeers({ a: `127.0.0.1:${c.ports.a}`, b: `127.0.0.1:${c.ports.b}`, d: `127.0.0.1:${port2}` });
    c.nets.a!.send('d', bytes('moved'));
    await inbox2.until(() => inbox2.frames.length === 1, 'moved peer reached');
    expect(inbox2.texts('a')).toEqual(['moved']);
    expect(inbox.frames).toHaveLength(1);
    c.nets.a!.setPeers({ a: `127.0.0.1:${c.ports.a}` });
    const before = c.nets.a!.metrics().droppedFrames;
    c.nets.a!.send('b', bytes('gone'));
    expect(c.nets.a!.metrics().droppedFrames).toBe(before + 1);
    expect(Object.keys(c.nets.a!.metrics().peers)).toEqual([]);
  });

  it('refuses a peer whose address answers as another node id', async () => {
    const c = await startCluster(['a', 'b']);
    cleanups.push(c.close);
    // 'a' believes 'x' lives at b's address.
    c.nets.a!.setPeers({ b: `127.0.0.1:${c.ports.b}`, x: `127.0.0.1:${c.ports.b}` });
    const refused = waitForEvent(
      c.nets.a!,
      (e) => (e?.type === 'handshake-rejected' ? e.reason : undefined),
      'refusal',
    );
    c.nets.a!.send('x', bytes('?'));
    // b refuses first (receiver id 'x' is not 'b').
    expect(await refused).toBe('receiver');
    expect(c.nets.b!.metrics().rejectedByReason.receiver).toBeGreaterThanOrEqual(1);
  });

  it('logs the reason of a refused handshake on both sides', async () => {
    const logs: Array<{ side: string; obj: Record<string, unknown>; msg: string }> = [];
    const logger = (side: string) => ({
      debug() {},
      info() {},
      error() {},
      warn(obj: object, msg: string) {
        logs.push({ side, obj: obj as Record<string, unknown>, msg });
      },
    });
    const a = createTcpNetwork({
      nodeId: 'a',
      clusterId: 'c1',
      listen: { host: '127.0.0.1', port: 0 },
      peers: {},
      limits: FAST_LIMITS,
      logger: logger('a'),
    });
    cleanups.push(() => a.close());
    const port = (await a.start()).port;
    const x = createTcpNetwork({
      nodeId: 'x',
      clusterId: 'c2',
      listen: { host: '127.0.0.1', port: 0 },
      peers: { a: `127.0.0.1:${port}` },
      limits: FAST_LIMITS,
      logger: logger('x'),
    });
    cleanups.push(() => x.close());
    const refused = waitForEvent(x, (e) => (e?.type === 'handshake-rejected' ? true : undefined), 'refusal');
    x.send('a', bytes('hi'));
    await refused;
    const a0 = logs.find((l) => l.side === 'a');
    const x0 = logs.find((l) => l.side === 'x');
    expect(a0?.obj.reason).toBe('cluster');
    expect(a0?.msg).toMatch(/cluster 'c2', not 'c1'/);
    expect(x0?.obj.reason).toBe('cluster');
    expect(x0?.msg).toMatch(/refused by remote/);
  });
});
