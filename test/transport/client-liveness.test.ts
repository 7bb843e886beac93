/**
 * Client connection liveness: a request in flight on a connection that has gone silent (the
 * member's machine dropped off the network) fails as `connection-lost` with `sent: true` once a
 * probe goes unanswered, long before its own timeout, so the caller can retry elsewhere; a member
 * that answers the probe keeps the connection, however long it holds the request (a lock wait).
 */
import { afterEach, expect, it } from 'vitest';
import {
  createTcpClientConnection,
  createTcpNetwork,
  type TcpClientConnection,
  type TcpNetwork,
  TransportError,
} from '../../runtime/transport/index.js';
import { type LinkProxy, startLinkProxy } from '../helpers/link-proxy.js';

const nets: TcpNetwork[] = [];
const proxies: LinkProxy[] = [];
const conns: TcpClientConnection[] = [];
afterEach(async () => {
  await Promise.all([
    ...conns.splice(0).map((c) => c.close()),
    ...nets.splice(0).map((n) => n.close()),
    ...proxies.splice(0).map((p) => p.close()),
  ]);
});

const STATUS = 1;
const HOLD = 2;
/** One-byte requests: STATUS is answered at once, HOLD after `holdMs`. */
async function member(holdMs: number, seen: number[] = []) {
  const net = createTcpNetwork({
    nodeId: 'm1',
    clusterId: 'c1',
    listen: { host: '127.0.0.1', port: 0 },
    peers: {},
  });
  nets.push(net);
  net.onClientRequest((_client, frame, reply) => {
    seen.push(frame[0] as number);
    const answer = () => reply(Uint8Array.of(frame[0] as number));
    if (frame[0] === HOLD) setTimeout(answer, holdMs);
    else answer();
  });
  return (await net.start()).port;
}

const liveness = { idleMs: 200, timeoutMs: 200, probe: () => Uint8Array.of(STATUS) };

/** A client connection to `endpoint` with the test's liveness timings, closed after each test. */
function connection(endpoint: string) {
  const c = createTcpClientConnection({ endpoint, clusterId: 'c1', liveness });
  conns.push(c);
  return c;
}

it('a request on a connection gone silent fails as connection-lost (sent) once a probe goes unanswered', async () => {
  const link = await startLinkProxy(await member(0));
  proxies.push(link);
  const c = connection(link.address);
  expect(await c.request(Uint8Array.of(STATUS))).toEqual(Buffer.of(STATUS));
  link.pause(); // a pulled cable: the socket stays open, nothing arrives
  const t0 = performance.now();
  const err = await c.request(Uint8Array.of(HOLD), { timeoutMs: 10_000 }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransportError);
  expect((err as TransportError).code).toBe('connection-lost');
  expect((err as TransportError).sent).toBe(true);
  expect((err as Error).message).toMatch(/no answer to a liveness probe within 200 ms/);
  // idle 200 ms + probe 200 ms, far from the request's own 10 s.
  expect(performance.now() - t0).toBeLessThan(3000);
});

it('a member that answers probes keeps the connection while it holds a request, probed once per quiet spell', async () => {
  const seen: number[] = [];
  const c = connection(`127.0.0.1:${await member(1500, seen)}`);
  expect(await c.request(Uint8Array.of(HOLD), { timeoutMs: 10_000 })).toEqual(Buffer.of(HOLD));
  // One probe per 200 ms of silence while the request was held: about 7, never a busy loop.
  const probes = seen.filter((b) => b === STATUS).length;
  expect(probes).toBeGreaterThan(2);
  expect(probes).toBeLessThanOrEqual(8);
});

it('a request sent after a quiet spell is not probed at once', async () => {
  const seen: number[] = [];
  const c = connection(`127.0.0.1:${await member(100, seen)}`);
  await c.request(Uint8Array.of(STATUS));
  await new Promise((r) => setTimeout(r, 400)); // quiet for twice idleMs, nothing in flight
  seen.length = 0;
  // Answered after 100 ms: less than idleMs after it was sent, so no probe is due.
  expect(await c.request(Uint8Array.of(HOLD))).toEqual(Buffer.of(HOLD));
  expect(seen).toEqual([HOLD]);
});
