import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createEmbeddedClient } from '../../runtime/client/client.js';
import { HTTP_MAX_CONNECTIONS } from '../../runtime/server/http.js';
import type { Server } from '../../runtime/server/server.js';
import { until } from '../helpers/until.js';
import { type SoloServer, startSoloServer } from '../server/helpers.js';

describe('single member: embedded client and the HTTP endpoint', () => {
  let solo: SoloServer;
  let s: Server;
  beforeAll(async () => {
    solo = await startSoloServer({ http: { host: '127.0.0.1', port: 0 } });
    s = solo.server;
  });
  afterAll(() => solo?.close());

  it('the embedded client puts, gets and locks in-process', async () => {
    const c = await createEmbeddedClient(s.node, s.replica);
    try {
      await c.put('a', 'b');
      expect(new TextDecoder().decode((await c.get('a')).value ?? new Uint8Array())).toBe('b');
      const l1 = await c.lock('x');
      await l1.release();
      const l2 = await c.lock('x');
      expect(l2.fenceToken).toBeGreaterThan(l1.fenceToken);
      await l2.release();
    } finally {
      await c.close();
    }
  });

  it('/health, /status and /metrics', async () => {
    const base = `http://127.0.0.1:${s.httpPort}`;
    const h = await fetch(`${base}/health`);
    expect(h.status).toBe(200);
    const st = (await (await fetch(`${base}/status`)).json()) as { leaderId: string; members: unknown[] };
    expect(st.leaderId).toBe('solo');
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toMatch(/consensus_term \d+/);
    expect(m).toMatch(/consensus_role\{role="leader"\} 1/);
    expect(m).toMatch(/consensus_fsync_seconds_count [1-9]/);
    // Monotonic counts are Prometheus counters, so rate() and counter resets work on them.
    for (const name of [
      'consensus_proposals_total',
      'consensus_elections_total',
      'consensus_sync_stalls_total',
      'consensus_snapshots_total',
      'consensus_snapshots_skipped_total',
      'consensus_transport_bytes_in_total',
    ])
      expect(m).toContain(`# TYPE ${name} counter`);
    expect(m).toMatch(/consensus_proposals_total [1-9]/);
    // Process metrics, and the client-side gauges a resource review needed.
    expect(m).toMatch(/process_resident_memory_bytes \d+/);
    expect(m).toMatch(/process_open_fds \d+/);
    expect(m).toMatch(/nodejs_heap_size_used_bytes \d+/);
    expect(m).toMatch(/consensus_client_connections \d+/);
    expect(m).toMatch(/consensus_client_unsent_bytes \d+/);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('the HTTP endpoint holds at most HTTP_MAX_CONNECTIONS connections, and a probe gets through a slow-loris', async () => {
    // A flood (or a slow-loris) must not take the descriptors the WAL needs, nor lock out /health:
    // past the cap, the oldest connection that never completed a request makes room.
    const sockets = await Promise.all(
      Array.from({ length: HTTP_MAX_CONNECTIONS + 16 }, () => {
        const sock = net.connect({ host: '127.0.0.1', port: s.httpPort as number });
        sock.on('error', () => {});
        sock.write('GET /health HTTP/1.1\r\n'); // and never the rest
        return new Promise<net.Socket>((r) => sock.once('connect', () => r(sock)));
      }),
    );
    try {
      await until('the connections over the cap to be closed', () =>
        sockets.filter((x) => x.destroyed || x.readyState !== 'open').length >= 16 ? true : undefined,
      );
      // During the flood, a probe on a new connection is answered (it takes the place of the
      // oldest silent one; before, Node refused it: connection reset).
      const status = await new Promise<number>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: s.httpPort, path: '/health', agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject);
      });
      expect(status).toBe(200);
      const open = sockets.filter((x) => !x.destroyed && x.readyState === 'open').length;
      expect(open).toBeLessThanOrEqual(HTTP_MAX_CONNECTIONS);
    } finally {
      for (const x of sockets) x.destroy();
    }
  });

  it('consensus_fsync_seconds counts real fsyncs, not the commit-only saves that ride along', async () => {
    const base = `http://127.0.0.1:${s.httpPort}`;
    const count = async () => {
      const m = await (await fetch(`${base}/metrics`)).text();
      return Number(/consensus_fsync_seconds_count (\d+)/.exec(m)?.[1]);
    };
    const c = await createEmbeddedClient(s.node, s.replica);
    try {
      const before = await count();
      // Sequential puts on a single member: one WAL sync each (the entry); the Ready that then
      // carries only the advanced commit index is saved without a sync of its own.
      for (let i = 0; i < 20; i++) await c.put(`fsync-${i}`, 'v');
      const synced = (await count()) - before;
      expect(synced).toBeGreaterThanOrEqual(20);
      expect(synced).toBeLessThan(30);
    } finally {
      await c.close();
    }
  });

  it('consensus_waiting_requests and /status count a lock wait the member holds open', async () => {
    const base = `http://127.0.0.1:${s.httpPort}`;
    const waiting = async () => {
      const m = await (await fetch(`${base}/metrics`)).text();
      const st = (await (await fetch(`${base}/status`)).json()) as { waitingRequests: number };
      return { metric: Number(/consensus_waiting_requests (\d+)/.exec(m)?.[1]), status: st.waitingRequests };
    };
    const endpoints = [`127.0.0.1:${s.port}`];
    const holder = await connect({ endpoints });
    const waiter = await connect({ endpoints });
    try {
      expect(await waiting()).toEqual({ metric: 0, status: 0 });
      const held = await holder.lock('w');
      const second = waiter.lock('w');
      await until('the second acquire waits on the member', () => s.status().waitingRequests === 1);
      expect(await waiting()).toEqual({ metric: 1, status: 1 });
      await held.release();
      await (await second).release();
      expect(await waiting()).toEqual({ metric: 0, status: 0 });
    } finally {
      await holder.close();
      await waiter.close();
    }
  });
});
