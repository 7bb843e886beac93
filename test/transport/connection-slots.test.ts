/**
 * Connection slots: a connection past its handshake has no idle limit (the frame timer only runs
 * while a partial frame is buffered), so clients must not be able to take the slots members need.
 * Clients are held to `maxInboundConnections` at their HELLO; the raw cap leaves room for the
 * known members on top. When the client slots are full, a new client takes the place of the one
 * idle longest: a review locked every client out of a leader with 1,100 idle connections from
 * one process.
 */
import { afterEach, expect, it } from 'vitest';
import {
  createTcpNetwork,
  decodeAck,
  encodeFrame,
  FrameDecoder,
  type TcpNetwork,
} from '../../runtime/transport/index.js';
import { until } from '../helpers/until.js';
import { FAST_LIMITS, helloFrame, Inbox, rawSocket, startLone } from './helpers.js';

const nets: TcpNetwork[] = [];
afterEach(async () => {
  await Promise.all(nets.splice(0).map((n) => n.close()));
});

it('idle client connections cannot lock a known member out of the node', async () => {
  const limits = { ...FAST_LIMITS, maxInboundConnections: 4, frameTimeoutMs: 200 };
  const a = createTcpNetwork({
    nodeId: 'a',
    clusterId: 'c1',
    listen: { host: '127.0.0.1', port: 0 },
    peers: {},
    limits,
  });
  nets.push(a);
  a.onClientRequest(() => {}); // answers nothing: a request stays in progress (a server-side wait)
  const portA = (await a.start()).port;
  const inbox = new Inbox(a);
  // The attacker: four handshaken client connections that then say nothing.
  const idle = [];
  for (let i = 0; i < 4; i++) {
    const r = await rawSocket(portA);
    r.socket.write(helloFrame({ kind: 'client', clusterId: '', senderId: `idle${i}` }));
    idle.push(r);
  }
  await new Promise((r) => setTimeout(r, 600)); // well past handshake and frame timeouts
  const b = createTcpNetwork({
    nodeId: 'b',
    clusterId: 'c1',
    listen: { host: '127.0.0.1', port: 0 },
    peers: {},
    limits,
  });
  nets.push(b);
  const portB = (await b.start()).port;
  const map = { a: `127.0.0.1:${portA}`, b: `127.0.0.1:${portB}` };
  a.setPeers(map);
  b.setPeers(map);
  b.send('a', Buffer.from('append-entries'));
  try {
    await inbox.until(() => inbox.texts('b').length > 0, 'frame from b', 2000);
    expect(a.metrics().rejectedByReason['too-many-connections'] ?? 0).toBe(0);
    // All four client slots taken: a fifth client takes the place of the one idle longest.
    const fifth = await rawSocket(portA);
    fifth.socket.write(helloFrame({ kind: 'client', clusterId: '', senderId: 'idle4' }));
    await idle[0]?.closed;
    await until('the fifth client ACK', () => fifth.received().length > 0);
    expect(decodeAck(new FrameDecoder().push(fifth.received())[0]!).rejected).toBeNull();
    expect(a.metrics().idleClientsEvicted).toBe(1);
    // With every client busy (a request in progress), the budget holds: a sixth is refused.
    for (const r of [...idle.slice(1), fifth]) r.socket.write(requestFrame(1));
    await until('the four requests', () => a.metrics().clientRequests >= 4);
    const sixth = await rawSocket(portA);
    sixth.socket.write(helloFrame({ kind: 'client', clusterId: '', senderId: 'idle5' }));
    await sixth.closed;
    expect(decodeAck(new FrameDecoder().push(sixth.received())[0]!).rejected).toBe('too-many-connections');
    expect(a.metrics().rejectedByReason['too-many-connections']).toBe(1);
    fifth.socket.destroy();
  } finally {
    for (const r of idle) r.socket.destroy();
  }
});

/** A client request frame: request id, then an (empty) payload. */
function requestFrame(requestId: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt32BE(requestId, 0);
  return encodeFrame(body);
}

it('past the handshake budget, the oldest connection that had a second to handshake makes room; younger ones stay', async () => {
  const { z: a, port } = await startLone({ handshakeTimeoutMs: 10_000, maxHandshakingConnections: 4 });
  nets.push(a);
  // A burst over the budget: all young, none closed (a burst of legitimate connects is not cut).
  const burst = [];
  for (let i = 0; i < 6; i++) burst.push(await rawSocket(port));
  await until('the burst accepted', () => a.metrics().connectionsAccepted >= 6);
  expect(a.metrics().rejectedByReason.timeout ?? 0).toBe(0);
  await new Promise((r) => setTimeout(r, 1100)); // they are old now (a negative window needs time)
  const next = await rawSocket(port);
  await burst[0]?.closed; // the oldest made room
  expect(a.metrics().rejectedByReason.timeout).toBe(1);
  for (const r of [...burst, next]) r.socket.destroy();
});
