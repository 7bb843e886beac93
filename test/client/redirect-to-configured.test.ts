/**
 * A not_leader redirect names the leader's peer address: what the members dial, which need not be
 * how this client reaches it (a proxy per link, NAT, another interface). When a configured endpoint
 * is the same member (its handshake ACK names it), the client goes there instead: a broken link
 * between two members must not strand a client that reaches both.
 */
import { afterEach, expect, it } from 'vitest';
import { decodeClientMessage, encodeClientMessage, encodeResultMessage } from '../../generated/index.js';
import { connect } from '../../runtime/client/client.js';
import { errorResult } from '../../runtime/coordination/state-machine.js';
import { jsonPayload, response } from '../../runtime/server/protocol.js';
import { createTcpNetwork, type TcpNetwork } from '../../runtime/transport/index.js';
import { type LinkProxy, startLinkProxy } from '../helpers/link-proxy.js';
import { until } from '../helpers/until.js';

const nets: TcpNetwork[] = [];
const proxies: LinkProxy[] = [];
afterEach(async () => {
  await Promise.all([...nets.splice(0).map((n) => n.close()), ...proxies.splice(0).map((p) => p.close())]);
});

/** A member that answers every request: `ok` when it leads, else not_leader naming `leader()`. */
async function member(id: string, leader: () => { id: string; address: string }) {
  const net = createTcpNetwork({
    nodeId: id,
    clusterId: 'c1',
    listen: { host: '127.0.0.1', port: 0 },
    peers: {},
  });
  nets.push(net);
  const seen: number[] = [];
  net.onClientRequest((_client, frame, reply) => {
    const req = decodeClientMessage(frame);
    if (req.type !== 'ClientRequest') return;
    // connect() asks a member for its status: every member answers that itself.
    if (req.kind === 'status')
      return reply(encodeClientMessage(response(req.requestId, 'ok', { payload: jsonPayload({}) })));
    seen.push(req.sequence);
    const l = leader();
    reply(
      encodeClientMessage(
        l.id === id
          ? response(req.requestId, 'ok', {
              payload: encodeResultMessage({ ...errorResult('', ''), ok: true, outcome: 'written' }),
            })
          : response(req.requestId, 'not_leader', { leaderId: l.id, leaderAddress: l.address }),
      ),
    );
  });
  const { port } = await net.start();
  return { address: `127.0.0.1:${port}`, port, seen };
}

it('a redirect to a peer address the client cannot use goes to the configured endpoint of that member', async () => {
  let leader = { id: 'm2', address: '' };
  const m1 = await member('m1', () => leader);
  const m2 = await member('m2', () => leader);
  // m1's way to m2 is a proxy, and that link is down: a client following the address stalls.
  const m1ToM2 = await startLinkProxy(m2.port);
  proxies.push(m1ToM2);
  m1ToM2.pause();
  leader = { id: 'm2', address: m1ToM2.address };

  const client = await connect({ endpoints: [m1.address, m2.address], clusterId: 'c1', timeoutMs: 5000 });
  try {
    // The first call goes to m1 (the first endpoint), which redirects to the dead proxy.
    const t0 = performance.now();
    await client.put('k', 'v');
    const first = performance.now() - t0;
    expect(m1.seen.length).toBeGreaterThan(0);
    expect(m2.seen.length).toBe(1);
    // Well before the call's 5 s deadline, at which a client following the address would fail.
    expect(first).toBeLessThan(2500);
    // Later calls go straight to m2.
    const before = m1.seen.length;
    for (let i = 0; i < 5; i++) await client.put(`k${i}`, 'v');
    expect(m1.seen.length).toBe(before);
    expect(m2.seen.length).toBe(6);
  } finally {
    await client.close();
  }
});

it('a redirect to a member no configured endpoint fronts still follows the address', async () => {
  // m3 joined after the client was configured with m1 only: the redirect is the only way there.
  let leader = { id: 'm3', address: '' };
  const m1 = await member('m1', () => leader);
  const m3 = await member('m3', () => leader);
  leader = { id: 'm3', address: m3.address };
  const client = await connect({ endpoints: [m1.address], clusterId: 'c1', timeoutMs: 5000 });
  try {
    await client.put('k', 'v');
    expect(m1.seen.length).toBe(1);
    expect(m3.seen.length).toBe(1);
  } finally {
    await client.close();
  }
});

it('a client closed while a redirected call waits to identify its endpoints sends nothing more', async () => {
  let leader = { id: 'm2', address: '' };
  const m1 = await member('m1', () => leader);
  const m2 = await member('m2', () => leader);
  // The configured endpoint of m2 never completes a handshake; the redirect's address works.
  const deadEndpoint = await startLinkProxy(m2.port);
  const peerAddress = await startLinkProxy(m2.port);
  proxies.push(deadEndpoint, peerAddress);
  deadEndpoint.pause();
  leader = { id: 'm2', address: peerAddress.address };
  const client = await connect({
    endpoints: [m1.address, deadEndpoint.address],
    clusterId: 'c1',
    timeoutMs: 5000,
  });
  const put = client.put('k', 'v').then(
    () => 'applied',
    (e: { code?: string }) => e.code,
  );
  await until('the redirect from m1', () => m1.seen.length > 0);
  await client.close();
  expect(await put).toBe('CLOSED');
  await new Promise((r) => setTimeout(r, 700)); // past the 500 ms identification wait
  expect(m2.seen).toEqual([]);
});

it('after a leader goes silent, the next attempt skips its endpoint instead of waiting out a handshake there', async () => {
  let leader = { id: 'm2', address: '' };
  const m1 = await member('m1', () => leader);
  const m2 = await member('m2', () => leader);
  const toM2 = await startLinkProxy(m2.port); // the client's way to m2
  proxies.push(toM2);
  leader = { id: 'm2', address: toM2.address };
  // m1 first: its redirect makes m2 the current endpoint, and the round robin's next turn is m2's.
  const client = await connect({ endpoints: [m1.address, toM2.address], clusterId: 'c1', timeoutMs: 20_000 });
  try {
    await client.put('a', 'v');
    expect(m2.seen.length).toBe(1);
    // m2's machine drops off the network; m1 takes over.
    toM2.pause();
    leader = { id: 'm1', address: m1.address };
    const t0 = performance.now();
    await client.put('b', 'v');
    // The silent connection is dropped after ~2 s (liveness); a fresh handshake at the paused
    // endpoint would add its 2 s timeout before m1 is tried.
    expect(performance.now() - t0).toBeLessThan(3500);
    expect(m1.seen.length).toBeGreaterThan(0);
  } finally {
    await client.close();
  }
});

it('connect refuses durations that are not positive milliseconds a timer can hold, and no endpoints', async () => {
  await expect(connect({ endpoints: ['127.0.0.1:1'], dialTimeoutMs: 0 })).rejects.toThrow(
    /dialTimeoutMs must be a positive number of milliseconds up to 2147483647, got 0/,
  );
  // A review's client died with SESSION_LOST: a 1e12 ms TTL overflowed Node's timers (fired at once).
  await expect(connect({ endpoints: ['127.0.0.1:1'], sessionTtlMs: 1e12 })).rejects.toThrow(
    /sessionTtlMs must be a positive number of milliseconds up to 300000, got 1000000000000/,
  );
  await expect(connect({ endpoints: ['127.0.0.1:1'], timeoutMs: Number.NaN })).rejects.toThrow(/timeoutMs/);
  await expect(connect({ endpoints: ' , ' })).rejects.toThrow(/at least one endpoint is required/);
});
