import { afterEach, describe, expect, it } from 'vitest';
import {
  createTcpClientConnection,
  createTcpNetwork,
  frameHeader,
  type TransportError,
} from '../../runtime/transport/index.js';
import { FAST_LIMITS, helloFrame, Inbox, rawSocket, startCluster, waitForEvent } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function rejection(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (e) {
    return e as TransportError;
  }
  throw new Error('expected a rejection');
}

describe('client channel', () => {
  it('multiplexes concurrent requests: replies in any order reach the right caller', async () => {
    const c = await startCluster(['a']);
    cleanups.push(c.close);
    const held: Array<{ frame: Uint8Array; reply: (f: Uint8Array) => void }> = [];
    const N = 50;
    let seenClient = '';
    c.nets.a!.onClientRequest((clientId, frame, reply) => {
      seenClient = clientId;
      held.push({ frame: Uint8Array.from(frame), reply });
      if (held.length === N) {
        // Reply in reverse order of arrival, each with its request reversed.
        for (const h of held.reverse()) h.reply(Uint8Array.from(h.frame).reverse());
      }
    });
    const client = createTcpClientConnection({
      endpoint: `127.0.0.1:${c.ports.a}`,
      clusterId: 'c1',
      clientId: 'cli-1',
    });
    cleanups.push(() => client.close());
    const replies = await Promise.all(
      Array.from({ length: N }, (_, i) => client.request(Buffer.from(`req-${i}`), { timeoutMs: 5000 })),
    );
    expect(replies.map((r) => Buffer.from(r).toString())).toEqual(
      Array.from({ length: N }, (_, i) => [...`req-${i}`].reverse().join('')),
    );
    expect(seenClient).toBe('cli-1');
    expect(c.nets.a!.metrics().clientRequests).toBe(N);
    expect(c.nets.a!.metrics().activeClients).toBe(1);
  });

  it('peers and clients share the listening port', async () => {
    const c = await startCluster(['a', 'b']);
    cleanups.push(c.close);
    c.nets.a!.onClientRequest((_id, frame, reply) => reply(frame));
    const inbox = new Inbox(c.nets.a!);
    const client = createTcpClientConnection({ endpoint: `127.0.0.1:${c.ports.a}` });
    cleanups.push(() => client.close());
    c.nets.b!.send('a', Buffer.from('from b'));
    expect(Buffer.from(await client.request(Buffer.from('echo'))).toString()).toBe('echo');
    await inbox.until(() => inbox.frames.length === 1, 'peer frame');
    expect(inbox.texts('b')).toEqual(['from b']);
  });

  it('reports timeout and abort as indeterminate once sent; ignores a second reply and a late one', async () => {
    const c = await startCluster(['a']);
    cleanups.push(c.close);
    const pendingReplies: Array<(f: Uint8Array) => void> = [];
    c.nets.a!.onClientRequest((_id, frame, reply) => {
      const text = Buffer.from(frame).toString();
      if (text === 'twice') {
        reply(Buffer.from('first'));
        reply(Buffer.from('second'));
      } else pendingReplies.push(reply);
    });
    const client = createTcpClientConnection({ endpoint: `127.0.0.1:${c.ports.a}` });
    cleanups.push(() => client.close());
    const t = await rejection(client.request(Buffer.from('slow'), { timeoutMs: 50 }));
    expect(t.code).toBe('timeout');
    expect(t.sent).toBe(true);
    const ac = new AbortController();
    const p = client.request(Buffer.from('abort me'), { signal: ac.signal });
    // Abort once the server has the request in hand.
    while (pendingReplies.length < 2) await client.request(Buffer.from('twice'));
    ac.abort();
    const ab = await rejection(p);
    expect(ab.code).toBe('aborted');
    expect(ab.sent).toBe(true);
    // Late replies for the timed-out and aborted requests are ignored; the connection still works.
    for (const r of pendingReplies) r(Buffer.from('late'));
    expect(Buffer.from(await client.request(Buffer.from('twice'))).toString()).toBe('first');
    const pre = new AbortController();
    pre.abort();
    await expect(client.request(Buffer.from('x'), { signal: pre.signal })).rejects.toThrow();
  });

  it('rejects pending requests with connection-lost when the node goes away', async () => {
    const c = await startCluster(['a']);
    cleanups.push(c.close);
    const client = createTcpClientConnection({ endpoint: `127.0.0.1:${c.ports.a}` });
    cleanups.push(() => client.close());
    c.nets.a!.onClientRequest(() => {
      void c.nets.a!.close();
    });
    const e = await rejection(client.request(Buffer.from('doomed'), { timeoutMs: 5000 }));
    expect(e.code).toBe('connection-lost');
    expect(e.sent).toBe(true);
    const again = await rejection(client.request(Buffer.from('after'), { timeoutMs: 5000 }));
    expect(again.code).toBe('connect-failed');
    expect(again.sent).toBe(false);
  });

  it('a client expecting another cluster is refused', async () => {
    const c = await startCluster(['a']);
    cleanups.push(c.close);
    const client = createTcpClientConnection({ endpoint: `127.0.0.1:${c.ports.a}`, clusterId: 'elsewhere' });
    cleanups.push(() => client.close());
    const e = await rejection(client.request(Buffer.from('x')));
    expect(e.code).toBe('handshake-rejected');
    expect(e.reason).toBe('cluster');
    expect(c.nets.a!.metrics().rejectedByReason.cluster).toBe(1);
  });

  it('a malformed client envelope closes that client only', async () => {
    const c = await startCluster(['a']);
    cleanups.push(c.close);
    c.nets.a!.onClientRequest((_id, f, reply) => reply(f));
    const good = createTcpClientConnection({ endpoint: `127.0.0.1:${c.ports.a}` });
    cleanups.push(() => good.close());
    await good.request(Buffer.from('warm'));
    const s = await rawSocket(c.ports.a!);
    s.socket.write(helloFrame({ kind: 'client', clusterId: '', senderId: 'bad' }));
    s.socket.write(Buffer.concat([frameHeader(2), Buffer.of(1, 2)]));
    await s.closed;
    expect(c.nets.a!.metrics().malformedFrames).toBe(1);
    expect(Buffer.from(await good.request(Buffer.from('still here'))).toString()).toBe('still here');
  });

  it('closes a client that does not read its replies once the write buffer bound is passed', async () => {
    const c = await startCluster(['a'], {
      limits: { ...FAST_LIMITS, maxClientWriteBufferBytes: 256 * 1024 },
    });
    cleanups.push(c.close);
    const big = new Uint8Array(512 * 1024);
    c.nets.a!.onClientRequest((_id, _f, reply) => {
      reply(big);
    });
    const s = await rawSocket(c.ports.a!);
    s.socket.pause(); // never read
    s.socket.write(helloFrame({ kind: 'client', clusterId: '', senderId: 'sloth' }));
    const gone = waitForEvent(
      c.nets.a!,
      (e) => (e?.type === 'client-disconnected' ? e.reason : undefined),
      'sloth closed',
    );
    const req = Buffer.alloc(8);
    for (let i = 0; i < 40; i++) {
      req.writeUInt32BE(4, 0);
      req.writeUInt32BE(i, 4);
      s.socket.write(req);
    }
    expect(await gone).toMatch(/not reading/);
    s.socket.destroy();
  });

  it('reconnects on the next request after the node restarts', async () => {
    const c = await startCluster(['a']);
    c.nets.a!.onClientRequest((_id, f, reply) => reply(f));
    const client = createTcpClientConnection({ endpoint: `127.0.0.1:${c.ports.a}` });
    cleanups.push(() => client.close());
    expect(Buffer.from(await client.request(Buffer.from('one'))).toString()).toBe('one');
    const gone = waitForEvent(
      c.nets.a!,
      (e) => (e?.type === 'client-disconnected' ? true : undefined),
      'gone',
    );
    const closing = c.nets.a!.close();
    await Promise.all([gone, closing]);
    const a2 = createTcpNetwork({
      nodeId: 'a',
      clusterId: 'c1',
      listen: { host: '127.0.0.1', port: c.ports.a! },
      peers: {},
      limits: FAST_LIMITS,
    });
    cleanups.push(() => a2.close());
    a2.onClientRequest((_id, f, reply) => reply(Buffer.concat([Buffer.from('2:'), f])));
    await a2.start();
    // The first request may still meet the old, closed socket: that is reported, not hidden.
    let text = '';
    for (let attempt = 0; attempt < 3 && text === ''; attempt++) {
      try {
        text = Buffer.from(await client.request(Buffer.from('two'))).toString();
      } catch (e) {
        expect(['connection-lost', 'connect-failed']).toContain((e as TransportError).code);
      }
    }
    expect(text).toBe('2:two');
  });
});
