/**
 * The operator's HTTP endpoint (`--http HOST:PORT`, node:http): `/metrics` (Prometheus text via
 * prom-client), `/health` (200 when the node runs and knows a leader, 503 otherwise), `/status`
 * (JSON). Gauges are read at scrape time; counters mirror monotonic sources.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import client from 'prom-client';
import type { RaftNode } from '../node/node.js';
import type { TcpNetwork } from '../transport/types.js';
import type { ServerStatus } from './protocol.js';
import type { SampleBuffer } from './sample-buffer.js';

/** What the metrics endpoint reads. */
export interface MetricsSources {
  node: RaftNode;
  network: TcpNetwork;
  status(): ServerStatus;
  /** Counters kept by the server. */
  counters(): { elections: number; duplicates: number };
  /**
   * fsync latencies in seconds, recorded by the server and moved into `consensus_fsync_seconds`
   * at scrape time (or when the buffer fills). None: the histogram stays empty.
   */
  fsyncSamples?: SampleBuffer;
}

/** A running HTTP endpoint. */
export interface HttpEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

const ROLES = ['follower', 'pre_candidate', 'candidate', 'leader'] as const;
/** Concurrent connections to the HTTP endpoint (scrapers and probes need a handful). */
export const HTTP_MAX_CONNECTIONS = 64;
/** Time for a request's headers and for the whole request. */
const HTTP_TIMEOUT_MS = 10_000;

/** Builds the metric registry (also usable without the HTTP server). */
export function createMetricsRegistry(src: MetricsSources): {
  registry: client.Registry;
  fsyncSeconds: client.Histogram;
} {
  const registry = new client.Registry();
  const st = () => src.node.status();
  const tm = () => src.network.metrics();
  /** [name, help, source read at scrape time] */
  type Mirrored = [string, string, () => number];
  const gauges: Mirrored[] = [
    ['consensus_term', 'Current Raft term', () => st().term],
    ['consensus_commit_index', 'Commit index', () => st().commitIndex],
    ['consensus_applied_index', 'Applied index', () => st().appliedIndex],
    ['consensus_last_index', 'Last log index', () => st().lastIndex],
    ['consensus_client_connections', 'Client connections open', () => tm().activeClients],
    [
      'consensus_client_unsent_bytes',
      'Reply bytes waiting to be sent to clients (bounded by maxClientWriteBufferTotalBytes)',
      () => tm().clientUnsentBytes,
    ],
    [
      'consensus_waiting_requests',
      'Client requests held open until an event decides them (queued locks, barrier arrivals, campaigns)',
      () => src.status().waitingRequests,
    ],
  ];
  // A `_total` is a Prometheus counter (rate() and reset handling work on it); its source is a
  // monotonic count the member keeps.
  const counters: Mirrored[] = [
    ['consensus_proposals_total', 'Commands this member appended to the log as leader', () => st().proposals],
    [
      'consensus_proposals_rejected_total',
      'Proposals refused by this member (not the leader, backpressure)',
      () => st().proposalsRejected,
    ],
    ['consensus_elections_total', 'Elections started by this member', () => src.counters().elections],
    [
      'consensus_sync_stalls_total',
      'Step-downs of this member as leader because a log save stalled past maxSyncStallMs',
      () => st().syncStalls,
    ],
    [
      'consensus_snapshots_total',
      'Local snapshots this member saved (entries up to them are compacted from the log)',
      () => st().snapshotsTaken,
    ],
    [
      'consensus_snapshots_skipped_total',
      'Local snapshots skipped for lack of file descriptors (taken again after the next interval)',
      () => st().snapshotsSkipped,
    ],
    [
      'consensus_dedup_hits_total',
      'Retried commands answered from the exactly-once cache',
      () => src.counters().duplicates,
    ],
    ['consensus_transport_bytes_in_total', 'Bytes received', () => tm().bytesIn],
    ['consensus_transport_bytes_out_total', 'Bytes sent', () => tm().bytesOut],
    ['consensus_transport_dropped_frames_total', 'Frames dropped by the transport', () => tm().droppedFrames],
    [
      'consensus_transport_malformed_frames_total',
      'Connections closed for malformed frames',
      () => tm().malformedFrames,
    ],
    ['consensus_transport_rejected_handshakes_total', 'Refused handshakes', () => tm().rejectedHandshakes],
    [
      'consensus_transport_overload_closes_total',
      'Connections closed for exceeding a buffer budget (inbound bytes, unsent replies)',
      () => tm().overloadCloses,
    ],
    [
      'consensus_idle_clients_evicted_total',
      'Idle client connections closed to make room for a new client',
      () => tm().idleClientsEvicted,
    ],
    [
      'consensus_frames_dropped_total',
      'Raft frames dropped by the node (undecodable)',
      () => st().framesDropped,
    ],
  ];
  for (const [name, help, read] of gauges) {
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  }
  for (const [name, help, read] of counters) {
    new client.Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }
  new client.Gauge({
    name: 'consensus_role',
    help: 'Role of this member (1 for the current role)',
    labelNames: ['role'],
    registers: [registry],
    collect() {
      const r = st().role;
      for (const role of ROLES) this.set({ role }, role === r ? 1 : 0);
    },
  });
  const fsyncSeconds = new client.Histogram({
    name: 'consensus_fsync_seconds',
    help: 'Latency of log saves that waited for a WAL write + fdatasync (commit-only saves ride along, not counted)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [registry],
    collect() {
      src.fsyncSamples?.drain((s) => this.observe(s));
    },
  });
  // Process metrics (resident memory, open file descriptors, heap, event-loop lag), collected once
  // per process however many members it runs: what a review of floods had to read from /proc.
  return { registry: client.Registry.merge([registry, processMetrics()]), fsyncSeconds };
}

let processRegistry: client.Registry | undefined;
function processMetrics(): client.Registry {
  if (!processRegistry) {
    processRegistry = new client.Registry();
    client.collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Starts the HTTP endpoint on `host:port` (0 = any free port). */
export async function startHttp(
  listen: { host: string; port: number },
  src: MetricsSources,
): Promise<HttpEndpoint> {
  const { registry, fsyncSeconds } = createMetricsRegistry(src);
  const samples = src.fsyncSamples;
  if (samples) samples.sink = (s) => fsyncSeconds.observe(s);
  /** Open connections in arrival order, and those that completed at least one request. */
  const open = new Set<Socket>();
  const served = new WeakSet<Socket>();
  // Header and request timeouts, checked every second (Node's default check runs every 30 s).
  const server = http.createServer(
    { headersTimeout: HTTP_TIMEOUT_MS, requestTimeout: HTTP_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
    (req, res) => {
      served.add(req.socket);
      const path = (req.url ?? '/').split('?')[0];
      void (async () => {
        try {
          if (path === '/metrics') {
            res.writeHead(200, { 'content-type': registry.contentType });
            res.end(await registry.metrics());
          } else if (path === '/health') {
            const s = src.node.status();
            // A member whose log was lost (emptied data dir, see RaftConfig.freshJoin) is not healthy.
            const ok = !src.node.error && s.leaderId !== null && s.joinCheck !== 'lost_log';
            res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ ok, role: s.role, leaderId: s.leaderId, joinCheck: s.joinCheck }));
          } else if (path === '/status') {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify(src.status()));
          } else {
            res.writeHead(404, { 'content-type': 'text/plain' });
            res.end('not found: try /metrics, /health or /status\n');
          }
        } catch (e) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(e));
        }
      })();
    },
  );
  // Bounded like the Raft port: a flood or a slow-loris on /metrics must not take the file
  // descriptors the WAL and snapshots need (a review stopped a member that way, EMFILE). Past the
  // cap the oldest connection that never completed a request goes (not the newcomer: a probe must
  // get through a slow-loris), else the oldest one.
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      served.delete(socket);
    });
    if (open.size <= HTTP_MAX_CONNECTIONS) return;
    let victim: Socket | undefined;
    for (const o of open)
      if (o !== socket && !served.has(o)) {
        victim = o;
        break;
      }
    victim ??= open.values().next().value;
    victim?.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        if (samples) samples.sink = null;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
