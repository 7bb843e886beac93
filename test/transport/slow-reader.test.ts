/**
 * Clients that send requests and never read the replies. A review grew a member from 104 MB to
 * 3.85 GB with 40 such connections: each was held only to its own 64 MiB cap. Now a client whose
 * unsent replies pass a high-water mark is not read from until it catches up (TCP back-pressure),
 * and the unsent replies of all clients together have a budget: above it, the client holding the
 * most is closed.
 */
import { afterEach, expect, it } from 'vitest';
import { encodeFrame, type TcpNetwork } from '../../runtime/transport/index.js';
import { until } from '../helpers/until.js';
import { helloFrame, rawSocket, startLone } from './helpers.js';

const MiB = 1024 * 1024;
/** Half the test frame limit (FAST_LIMITS.maxFrameBytes, 1 MiB). */
const REPLY = MiB / 2;
const nets: TcpNetwork[] = [];
afterEach(async () => {
  await Promise.all(nets.splice(0).map((n) => n.close()));
});

/** A lone member answering every client request with `replyBytes` bytes. */
async function member(limits: Record<string, number>, replyBytes: number) {
  const { z: n, port } = await startLone(limits);
  nets.push(n);
  const reply = Buffer.alloc(replyBytes, 7);
  n.onClientRequest((_id, _frame, answer) => answer(reply));
  return { n, port };
}

function requests(count: number): Buffer {
  return Buffer.concat(
    Array.from({ length: count }, (_, i) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(i + 1, 0);
      return encodeFrame(b);
    }),
  );
}

/** A client connection that has handshaken and then stops reading. */
async function nonReader(port: number, id: string) {
  const r = await rawSocket(port);
  r.socket.write(helloFrame({ kind: 'client', senderId: id }));
  await until(`${id}'s ACK`, () => r.received().length > 0);
  r.socket.pause();
  return r;
}

it('a client that does not read its replies is not read from either, until it catches up', async () => {
  const { n, port } = await member({ clientReplyHighWaterBytes: MiB }, REPLY);
  const r = await nonReader(port, 'slow');
  r.socket.write(requests(32));
  await until('the first batch handled', () => n.metrics().clientRequests >= 32);
  await until('replies backing up', () => n.metrics().clientUnsentBytes > MiB);
  r.socket.write(requests(32));
  // Nothing more is read while it does not read: the second batch waits in the kernel.
  await new Promise((res) => setTimeout(res, 200));
  expect(n.metrics().clientRequests).toBe(32);
  // It reads again: the member drains, resumes reading, and answers the second batch.
  r.socket.resume();
  await until('the second batch handled', () => n.metrics().clientRequests >= 64);
  expect(n.metrics().overloadCloses).toBe(0);
});

it("the clients' unsent replies have a total budget: the client holding the most is closed", async () => {
  const { n, port } = await member(
    { clientReplyHighWaterBytes: 64 * MiB, maxClientWriteBufferTotalBytes: 8 * MiB },
    REPLY,
  );
  const a = await nonReader(port, 'a');
  const b = await nonReader(port, 'b');
  b.socket.write(requests(4)); // 2 MiB: within budget
  await until('b answered into its buffers', () => n.metrics().clientRequests >= 4);
  a.socket.write(requests(48)); // 24 MiB
  // The total passed 8 MiB, and a holds the most: a is closed, b stays.
  await until('a closed', () => n.metrics().overloadCloses >= 1);
  expect(n.metrics().overloadCloses).toBe(1);
  expect(n.metrics().activeClients).toBe(1);
  a.socket.destroy();
  expect(n.metrics().clientUnsentBytes).toBeLessThanOrEqual(8 * MiB);
  // Another client is still served.
  const c = await rawSocket(port);
  c.socket.write(helloFrame({ kind: 'client', senderId: 'c' }));
  c.socket.write(requests(1));
  await until('c answered', () => c.received().length > REPLY);
  c.socket.destroy();
  b.socket.destroy();
});

it('a client paused for back-pressure is not closed by the frame timer (we are the ones not reading)', async () => {
  const { z: n, port } = await startLone({ maxClientInflight: 2, frameTimeoutMs: 300 });
  nets.push(n);
  // Server-side waits: each answer comes a second later.
  n.onClientRequest((_id, _frame, answer) => void setTimeout(() => answer(Buffer.from('ok')), 1000));
  const r = await rawSocket(port);
  r.socket.write(helloFrame({ kind: 'client', senderId: 'c' }));
  await until('the ACK', () => r.received().length > 0);
  const third = encodeFrame(Buffer.alloc(100));
  // Two requests pause reading; half of a third sits in the decoder meanwhile.
  r.socket.write(Buffer.concat([requests(2), third.subarray(0, 50)]));
  await until('paused', () => n.metrics().clientRequests >= 2);
  r.socket.write(third.subarray(50));
  await until('the third request read once the waits ended', () => n.metrics().clientRequests >= 3, 5000);
  expect(n.metrics().frameTimeouts).toBe(0);
  r.socket.destroy();
});
