import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { boundedSync } from '../../runtime/env/bounded-sync.js';
import { type Server, type ServerOptions, startServer } from '../../runtime/server/server.js';
import { freePorts } from '../../runtime/transport/free-ports.js';
import { until } from '../helpers/until.js';

export { freePorts };

/** Fast timeouts for loopback tests. */
export const FAST = { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, heartbeatIntervalMs: 30 };

export interface TestCluster {
  ids: string[];
  ports: number[];
  dirs: string[];
  servers: (Server | null)[];
  endpoints: string[];
  start(i: number): Promise<Server>;
  leader(timeoutMs?: number): Promise<Server>;
  close(): Promise<void>;
}

/**
 * Makes the next durable write of this process hang, the way a stuck disk would, until the
 * returned function is called. First every member applies the leader's last commit, so that the
 * next write is the leader's save of the next proposal (a follower's would take the hold). The
 * WAL's small writes go through the process's bounded-sync helper; holding it stalls one write.
 */
export async function holdNextSave(cluster: TestCluster, leader: Server): Promise<() => void> {
  const settled = leader.node.status().commitIndex;
  await until('every member applied the last commit', () =>
    cluster.servers.every((s) => !!s && s.node.status().appliedIndex >= settled),
  );
  const sync = boundedSync();
  if (!sync || !(await sync.ready)) throw new Error('no bounded-sync helper in this process');
  return sync.holdForTest();
}

/**
 * `startTestCluster` for a test file whose clusters are closed after each test: call it once at the
 * top level, then `await startCluster(3)` inside a test.
 */
export function clustersClosedAfterEach(): typeof startTestCluster {
  let open: TestCluster[] = [];
  afterEach(async () => {
    const started = open;
    open = [];
    await Promise.all(started.map((c) => c.close()));
  });
  return async (n, extra) => {
    const c = await startTestCluster(n, extra);
    open.push(c);
    return c;
  };
}

/** A cluster of `n` in-process servers on loopback, each with its own temp data dir. */
export async function startTestCluster(
  n: number,
  extra: Partial<Pick<ServerOptions, 'conflictRules' | 'config' | 'logger' | 'onFailed'>> = {},
): Promise<TestCluster> {
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  const ports = await freePorts(n);
  const root = mkdtempSync(join(tmpdir(), 'vibee-srv-'));
  const dirs = ids.map((id) => join(root, id));
  const peers = new Map(ids.map((id, i) => [id, { host: '127.0.0.1', port: ports[i] as number }]));
  const c: TestCluster = {
    ids,
    ports,
    dirs,
    servers: ids.map(() => null),
    endpoints: ports.map((p) => `127.0.0.1:${p}`),
    async start(i) {
      const s = await startServer({
        id: ids[i] as string,
        listen: { host: '127.0.0.1', port: ports[i] as number },
        peers,
        dataDir: dirs[i] as string,
        ...extra,
        config: { ...FAST, ...extra.config },
      });
      c.servers[i] = s;
      return s;
    },
    async leader(timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const l = c.servers.find((s) => s && s.node.status().role === 'leader');
        if (l) return l;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('no leader elected');
    },
    async close() {
      await Promise.all(c.servers.map((s) => s?.close()));
      rmSync(root, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < n; i++) await c.start(i);
  return c;
}

/** A one-member cluster in this process (it elects itself): `startSoloServer`. */
export interface SoloServer {
  server: Server;
  port: number;
  /** `127.0.0.1:PORT`, for `connect({ endpoints })`. */
  endpoint: string;
  /** Stops the member and removes its temp data dir. */
  close(): Promise<void>;
}

/**
 * Starts member `solo` on a free loopback port with a temp data dir and FAST timings (`extra`
 * adds or overrides options), and waits until it leads.
 */
export async function startSoloServer(extra: Partial<ServerOptions> = {}): Promise<SoloServer> {
  const root = mkdtempSync(join(tmpdir(), 'vibee-solo-'));
  const [port] = (await freePorts(1)) as [number];
  let server: Server;
  try {
    server = await startServer({
      id: 'solo',
      listen: { host: '127.0.0.1', port },
      peers: new Map([['solo', { host: '127.0.0.1', port }]]),
      dataDir: root,
      config: FAST,
      ...extra,
    });
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  await until('solo to lead', () => server.node.status().role === 'leader');
  return {
    server,
    port,
    endpoint: `127.0.0.1:${port}`,
    async close() {
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
