/** Shared helpers of the transport tests: nodes on 127.0.0.1 port 0, event waits, raw sockets. */
import net from 'node:net';
import {
  createTcpNetwork,
  encodeFrame,
  encodeHello,
  type TcpNetwork,
  type TcpNetworkOptions,
  type TransportEvent,
} from '../../runtime/transport/index.js';

/** Short timeouts so hostile-input tests finish quickly. */
export const FAST_LIMITS = {
  handshakeTimeoutMs: 300,
  reconnectBaseMs: 5,
  reconnectMaxMs: 50,
  maxFrameBytes: 1024 * 1024,
};

/** Resolves when `check()` returns a value other than undefined, re-checking on each event. */
export function waitForEvent<T>(
  network: TcpNetwork,
  check: (e: TransportEvent | undefined) => T | undefined,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const first = check(undefined);
    if (first !== undefined) return resolve(first);
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const off = network.onEvent((e) => {
      const v = check(e);
      if (v !== undefined) {
        clearTimeout(timer);
        off();
        resolve(v);
      }
    });
  });
}

/** Collects received frames and lets a test wait until a predicate over them holds. */
export class Inbox {
  readonly frames: Array<{ from: string; frame: Uint8Array }> = [];
  private waiters: Array<{ pred: () => boolean; resolve: () => void }> = [];

  constructor(network: TcpNetwork) {
    network.onReceive((from, frame) => {
      this.frames.push({ from, frame: Uint8Array.from(frame) });
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred()) return true;
        w.resolve();
        return false;
      });
    });
  }

  /** Frames from `from`, decoded as UTF-8. */
  texts(from?: string): string[] {
    return this.frames
      .filter((f) => from === undefined || f.from === from)
      .map((f) => Buffer.from(f.frame).toString());
  }

  /** Resolves once `pred()` holds (checked on every received frame). */
  until(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

/** Starts nodes on 127.0.0.1:0 and wires every node's peer map with the bound ports. */
export async function startCluster(
  ids: string[],
  extra: Partial<TcpNetworkOptions> = {},
): Promise<{ nets: Record<string, TcpNetwork>; ports: Record<string, number>; close(): Promise<void> }> {
  const nets: Record<string, TcpNetwork> = {};
  const ports: Record<string, number> = {};
  for (const id of ids) {
    nets[id] = createTcpNetwork({
      nodeId: id,
      clusterId: 'c1',
      listen: { host: '127.0.0.1', port: 0 },
      peers: {},
      limits: FAST_LIMITS,
      ...extra,
    });
    ports[id] = (await nets[id].start()).port;
  }
  const map = Object.fromEntries(ids.map((id) => [id, `127.0.0.1:${ports[id]}`]));
  for (const id of ids) nets[id]!.setPeers(map);
  return {
    nets,
    ports,
    close: async () => {
      await Promise.all(Object.values(nets).map((n) => n.close()));
    },
  };
}

/** One node 'z' alone (cluster 'c1') with FAST_LIMITS overridden by `limits`; the caller closes it. */
export async function startLone(
  limits: TcpNetworkOptions['limits'] = {},
): Promise<{ z: TcpNetwork; port: number }> {
  const c = await startCluster(['z'], { limits: { ...FAST_LIMITS, ...limits } });
  return { z: c.nets.z as TcpNetwork, port: c.ports.z as number };
}

/** A port that was free a moment ago (for a node that starts later). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A raw socket to 127.0.0.1:port with helpers to await connect, close and received bytes. */
export async function rawSocket(port: number): Promise<{
  socket: net.Socket;
  closed: Promise<void>;
  received: () => Buffer;
}> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, closed, received: () => Buffer.concat(chunks) };
}

/** A framed HELLO as a peer (or client) would send it. */
export function helloFrame(opts: {
  clusterId?: string;
  senderId?: string;
  receiverId?: string;
  kind?: 'peer' | 'client';
  version?: number;
}): Buffer {
  return encodeFrame(
    encodeHello({
      kind: opts.kind ?? 'peer',
      clusterId: opts.clusterId ?? 'c1',
      senderId: opts.senderId ?? 'mallory',
      receiverId: opts.receiverId ?? '',
      ...(opts.version === undefined ? {} : { version: opts.version }),
    }),
  );
}
