/**
 * A TCP proxy standing in for one network link between real processes: a member's `--peers` entry
 * for another member names the proxy, so a test can break that one direction of the link the way
 * networks break.
 *
 * - `pause()` is a pulled cable: established connections stay open and carry nothing (the proxy
 *   stops reading, so bytes back up into the senders' socket buffers as they would while TCP
 *   retransmits into a dead link), and new connections are accepted but get no answer. `heal()`
 *   resumes them: nothing sent before or during the cut is lost or reordered.
 * - `cut()` is a link whose failure the hosts see: every connection is reset and new ones are
 *   reset as they arrive, until `heal()`.
 */
import net from 'node:net';

/** One proxied link; see the module doc. */
export interface LinkProxy {
  /** The proxy's listening address, `127.0.0.1:PORT`. */
  readonly address: string;
  readonly mode: 'up' | 'paused' | 'cut';
  pause(): void;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

interface Pair {
  down: net.Socket;
  up: net.Socket | null;
}

/** Starts a proxy on a free loopback port forwarding to `targetPort` on 127.0.0.1. */
export async function startLinkProxy(targetPort: number): Promise<LinkProxy> {
  let mode: LinkProxy['mode'] = 'up';
  const pairs = new Set<Pair>();

  const connectUp = (p: Pair) => {
    const up = net.connect({ host: '127.0.0.1', port: targetPort });
    p.up = up;
    up.setNoDelay(true);
    up.on('error', () => p.down.destroy());
    up.on('close', () => p.down.destroy());
    up.on('data', (d) => {
      if (!p.down.write(d)) up.pause();
    });
    p.down.on('drain', () => mode === 'up' && up.resume());
    up.on('drain', () => mode === 'up' && p.down.resume());
  };

  const server = net.createServer((down) => {
    const p: Pair = { down, up: null };
    pairs.add(p);
    down.setNoDelay(true);
    down.on('error', () => p.up?.destroy());
    down.on('close', () => {
      pairs.delete(p);
      p.up?.destroy();
    });
    down.on('data', (d) => {
      if (p.up && !p.up.write(d)) down.pause();
    });
    if (mode === 'cut') {
      down.resetAndDestroy();
      return;
    }
    if (mode === 'paused') {
      down.pause();
      return;
    }
    connectUp(p);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    address: `127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    pause() {
      if (mode !== 'up') return;
      mode = 'paused';
      for (const p of pairs) {
        p.down.pause();
        p.up?.pause();
      }
    },
    cut() {
      mode = 'cut';
      for (const p of pairs) {
        p.down.resetAndDestroy();
        p.up?.resetAndDestroy();
      }
      pairs.clear();
    },
    heal() {
      const was = mode;
      mode = 'up';
      if (was !== 'paused') return;
      for (const p of pairs) {
        // Connections accepted during the pause are dialled only now (their SYN got through).
        if (!p.up) connectUp(p);
        p.down.resume();
        p.up?.resume();
      }
    },
    async close() {
      for (const p of pairs) {
        p.down.destroy();
        p.up?.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
