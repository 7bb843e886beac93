/**
 * Soak and figures (skipped unless TRANSPORT_SOAK=1): loopback throughput and round-trip latency
 * between two nodes, then a sustained mixed attack on one node while the healthy pair keeps
 * exchanging frames, sampling memory. Run: `TRANSPORT_SOAK=1 npx vitest run test/transport/soak.test.ts`
 * (TRANSPORT_SOAK_SECONDS sets the attack length, default 20).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { frameHeader } from '../../runtime/transport/index.js';
import { helloFrame, rawSocket, startCluster } from './helpers.js';

const SOAK = process.env.TRANSPORT_SOAK === '1';
const SECONDS = Number(process.env.TRANSPORT_SOAK_SECONDS ?? 20);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

describe.skipIf(!SOAK)('transport soak (TRANSPORT_SOAK=1)', () => {
  it(
    'throughput, latency, and a sustained attack with bounded memory',
    async () => {
      const c = await startCluster(['a', 'b'], {
        limits: { handshakeTimeoutMs: 500, frameTimeoutMs: 1000, maxFrameBytes: 1 << 20, reconnectBaseMs: 5 },
      });
      const a = c.nets.a!;
      const b = c.nets.b!;
      const port = c.ports.a!;
      try {
        // 1. Throughput a -> b, 1 KiB frames, at most 512 in flight (below the 1024-frame queue bound).
        let received = 0;
        let onRecv: () => void = () => {};
        b.onReceive((from) => {
          if (from === 'a') {
            received++;
            onRecv();
          }
        });
        const frame = new Uint8Array(1024);
        const t0 = performance.now();
        let sent = 0;
        await new Promise<void>((resolve) => {
          const pump = () => {
            if (performance.now() - t0 > 3000) {
              onRecv = () => received + a.metrics().droppedFrames >= sent && resolve();
              onRecv();
              return;
            }
            while (sent - received < 512) {
              a.send('b', frame);
              sent++;
            }
            onRecv = () => {
              if (sent - received < 256) {
                onRecv = () => {};
                setImmediate(pump);
              }
            };
          };
          pump();
        });
        const secs = (performance.now() - t0) / 1000;
        const fps = received / secs;
        expect(a.metrics().droppedFrames).toBe(0);

        // 2. Round trips b -> a -> b with 64-byte frames.
        const rtts: number[] = [];
        let rounds = 0;
        let pingAt = 0;
        let attacking = false;
        const attackRtts: number[] = [];
        a.onReceive((from, f) => {
          if (from === 'b') a.send('b', f);
        });
        let roundDone: () => void = () => {};
        b.onReceive((from, f) => {
          if (from !== 'a' || f.length !== 64) return;
          const rtt = performance.now() - pingAt;
          (attacking ? attackRtts : rtts).push(rtt);
          rounds++;
          roundDone();
        });
        const ping = () => {
          pingAt = performance.now();
          b.send('a', new Uint8Array(64));
        };
        await new Promise<void>((resolve) => {
          roundDone = () => (rounds >= 2000 ? resolve() : ping());
          ping();
        });

        // 3. Sustained attack while the ping-pong continues.
        const mem0 = process.memoryUsage();
        let maxRss = mem0.rss;
        let maxAb = mem0.arrayBuffers;
        attacking = true;
        const roundsBefore = rounds;
        let keepPinging = true;
        roundDone = () => keepPinging && ping();
        ping();
        let attacks = 0;
        const open = new Set<Promise<void>>();
        const kinds = [
          async () => {
            const s = await rawSocket(port);
            s.socket.write(randomBytes(16 * 1024));
            await s.closed;
          },
          async () => {
            const s = await rawSocket(port);
            s.socket.write(Buffer.of(0x80, 0, 0, 0));
            await s.closed;
          },
          async () => {
            const s = await rawSocket(port);
            s.socket.write(helloFrame({ senderId: 'b' })); // posing as a member: past the handshake
            s.socket.write(Buffer.concat([frameHeader(1 << 20), randomBytes(32 * 1024)]));
            await s.closed; // frame timeout
          },
          async () => {
            const s = await rawSocket(port);
            await s.closed; // handshake timeout
          },
          async () => {
            const s = await rawSocket(port);
            s.socket.write(helloFrame({ clusterId: 'evil' }));
            await s.closed;
          },
        ];
        const end = performance.now() + SECONDS * 1000;
        let nextSample = performance.now() + 1000;
        while (performance.now() < end) {
          while (open.size < 100) {
            const p = kinds[attacks++ % kinds.length]!().catch(() => {});
            open.add(p);
            void p.then(() => open.delete(p));
          }
          await Promise.race(open);
          if (performance.now() >= nextSample) {
            nextSample += 1000;
            const mu = process.memoryUsage();
            maxRss = Math.max(maxRss, mu.rss);
            maxAb = Math.max(maxAb, mu.arrayBuffers);
          }
        }
        await Promise.all(open);
        keepPinging = false;
        const attackRounds = rounds - roundsBefore;
        const m = a.metrics();
        const MB = 1024 * 1024;
        console.log(
          [
            `throughput a->b: ${fps.toFixed(0)} frames/s of 1 KiB (${((fps * 1024) / MB).toFixed(1)} MiB/s)`,
            `round trip (idle): p50 ${pct(rtts, 50).toFixed(3)} ms, p99 ${pct(rtts, 99).toFixed(3)} ms`,
            `round trip (under attack): p50 ${pct(attackRtts, 50).toFixed(3)} ms, p99 ${pct(attackRtts, 99).toFixed(3)} ms, ${attackRounds} rounds in ${SECONDS} s`,
            `attacks: ${attacks}; a rejected ${m.rejectedHandshakes} handshakes, ${m.malformedFrames} malformed, ${m.handshakeTimeouts} handshake timeouts, ${m.frameTimeouts} frame timeouts`,
            `memory: rss ${(mem0.rss / MB).toFixed(0)} -> max ${(maxRss / MB).toFixed(0)} MiB, arrayBuffers ${(mem0.arrayBuffers / MB).toFixed(0)} -> max ${(maxAb / MB).toFixed(0)} MiB`,
          ].join('\n'),
        );
        expect(attackRounds).toBeGreaterThan(SECONDS * 10);
        expect(maxRss - mem0.rss).toBeLessThan(256 * MB);
        expect(a.metrics().inboundBufferedBytes).toBe(0);
        expect(a.metrics().activeInbound).toBe(1);
      } finally {
        await c.close();
      }
    },
    (SECONDS + 60) * 1000,
  );
});
