/**
 * A start that fails half-way (the port is taken, the --http address is taken) must leave nothing
 * running: the caller gets an error and no handle to close, so a member left behind (timers,
 * outbound dials, an open WAL) would keep campaigning against the real cluster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startServer } from '../../runtime/server/server.js';
import { freePorts } from '../../runtime/transport/free-ports.js';
import { decodeHello } from '../../runtime/transport/handshake.js';
import { FrameDecoder } from '../../runtime/transport/index.js';

for (const step of ['listen', 'http'] as const) {
  it(`a startServer whose ${step} address is taken leaves nothing running`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'start-failure-'));
    // A port already taken, and a fake peer 'b' that records who dials it.
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    const dialers: string[] = [];
    const peerB = net.createServer((s) => {
      const d = new FrameDecoder(1024);
      s.on('error', () => {});
      s.on('data', (c) => {
        for (const f of d.push(c)) dialers.push(decodeHello(f).senderId);
      });
    });
    await new Promise<void>((r) => peerB.listen(0, '127.0.0.1', () => r()));
    const portB = (peerB.address() as net.AddressInfo).port;
    const [own] = step === 'http' ? await freePorts(1) : [taken];
    try {
      await expect(
        startServer({
          id: 'a',
          listen: { host: '127.0.0.1', port: own as number },
          peers: new Map([
            ['a', { host: '127.0.0.1', port: own as number }],
            ['b', { host: '127.0.0.1', port: portB }],
          ]),
          dataDir: dir,
          ...(step === 'http' ? { http: { host: '127.0.0.1', port: taken } } : {}),
          config: { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, heartbeatIntervalMs: 30 },
        }),
      ).rejects.toThrow(/EADDRINUSE/);
      // A member left running would campaign within 300 ms and dial b; wait four times that.
      await new Promise((r) => setTimeout(r, 1200));
      expect(dialers).toEqual([]);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
      await new Promise<void>((r) => peerB.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
