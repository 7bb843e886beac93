/**
 * A link that comes back must carry traffic again soon: a member whose outbound connection to a
 * peer is still backing off counts as down to that peer, one fault short of a lost quorum. An
 * inbound connection from the peer (the cable is back, the peer restarted) ends the backoff at
 * once, and the default backoff cap is one second.
 */
import { afterEach, expect, it } from 'vitest';
import {
  createTcpNetwork,
  resolveLimits,
  type TcpNetwork,
  type TransportLimits,
} from '../../runtime/transport/index.js';
import { type LinkProxy, startLinkProxy } from '../helpers/link-proxy.js';
import { until } from '../helpers/until.js';
import { freePort, Inbox } from './helpers.js';

const nets: TcpNetwork[] = [];
const proxies: LinkProxy[] = [];
afterEach(async () => {
  await Promise.all([...nets.splice(0).map((n) => n.close()), ...proxies.splice(0).map((p) => p.close())]);
});

/** Node 'a' (peer b at `bAddress`, no jitter) started; `failed()` counts its failed outbound attempts. */
async function startA(bAddress: string, limits: TransportLimits) {
  const a = createTcpNetwork({
    nodeId: 'a',
    clusterId: 'c1',
    listen: { host: '127.0.0.1', port: 0 },
    peers: { b: bAddress },
    limits,
    random: () => 0.9999,
  });
  nets.push(a);
  const portA = (await a.start()).port;
  let failed = 0;
  a.onEvent((e) => {
    if (e.type === 'connection-closed' && e.direction === 'outbound') failed++;
  });
  return { a, portA, failed: () => failed };
}

it('an inbound connection from a peer ends the outbound backoff to it at once', async () => {
  const listen = { host: '127.0.0.1', port: 0 };
  const b = createTcpNetwork({ nodeId: 'b', clusterId: 'c1', listen, peers: {} });
  nets.push(b);
  const portB = (await b.start()).port;
  // a reaches b only through this link, which starts cut.
  const link = await startLinkProxy(portB);
  proxies.push(link);
  link.cut();
  // Backoff without jitter: 200, 400, 800, then 1600 ms after the fourth failed attempt.
  const { a, portA, failed } = await startA(link.address, {
    handshakeTimeoutMs: 300,
    reconnectBaseMs: 200,
    reconnectMaxMs: 5000,
  });
  const inboxB = new Inbox(b);
  a.send('b', new TextEncoder().encode('queued while the link was cut'));
  await until('four failed attempts of a to reach b', () => failed() >= 4);

  link.heal();
  const healedAt = performance.now();
  // b learns of a now and dials it at once: an inbound peer connection at a.
  b.setPeers({ a: `127.0.0.1:${portA}` });
  b.send('a', new TextEncoder().encode('b is back'));
  await inboxB.until(() => inboxB.texts('a').length > 0, "a's queued frame at b");
  // Without the reset, a would next dial at the end of its 1600 ms backoff.
  expect(performance.now() - healedAt).toBeLessThan(800);
});

it("a member that starts after its peer dials it once listening, which ends the peer's backoff to it", async () => {
  const portB = await freePort();
  // One failed attempt puts the next one 10 s away (no jitter).
  const { a, portA, failed } = await startA(`127.0.0.1:${portB}`, {
    reconnectBaseMs: 10_000,
    reconnectMaxMs: 10_000,
  });
  a.send('b', new TextEncoder().encode('sent before b started'));
  await until('a failed to reach b', () => failed() >= 1);

  // b starts and sends nothing: it only announces itself.
  const b = createTcpNetwork({
    nodeId: 'b',
    clusterId: 'c1',
    listen: { host: '127.0.0.1', port: portB },
    peers: { a: `127.0.0.1:${portA}` },
  });
  nets.push(b);
  const inboxB = new Inbox(b);
  await b.start();
  // Without it, a would dial again only at the end of its 10 s backoff.
  await inboxB.until(() => inboxB.texts('a').length > 0, "a's queued frame at b", 3000);
});

it('reconnects back off to at most one second by default', () => {
  expect(resolveLimits({}).reconnectMaxMs).toBe(1000);
});
