/**
 * The contract's public `createNode({ id, peers, env?, dataDir?, config?, stateMachine? })`: one
 * member, on a supplied `Env` (a simulation decides every interleaving) or on the real one built
 * here (monotonic clock, OS randomness, TCP transport, node:fs + WAL), with `node.client()`.
 *
 * Contracts:
 * - `peers` as an id list needs `env` (the env maps ids to addresses); as a record
 *   id -> 'HOST:PORT' without `env`, the real env listens on the record's address of `id` and
 *   keeps its data in `dataDir` (required). With `env`, a record's keys are the ids.
 * - Default state machine: `DedupStateMachine(createCoordinationReplica())` (KV, locks, barriers,
 *   elections, exactly-once commands). Then, while this member leads, it commits elapsed
 *   coordination time (`TimeAdvance`) every SESSION_CHECK_INTERVAL_MS on `env.clock` (a new
 *   leader starts counting at its election, so committed time never runs faster than the
 *   leader's clock), and on the real env it also serves the client protocol on its TCP port, so
 *   `connect({ endpoints })` reaches it.
 * - `node.client()` is the embedded `Client` on `env.clock`: deterministic in a simulation. Its
 *   default id is drawn from `env.random()` (deterministic per seed); pass `clientId` to choose.
 *   It proposes on this member only: use it on the leader (on a follower, commands end with
 *   `not_leader` at their deadline).
 * - `close()` closes the clients it handed out, stops the node, then closes what `createNode`
 *   created (transport, WAL, file handles); a supplied `env`/`logStore` is left to its owner.
 */
import type { Client, EmbeddedClientOptions } from './client/client.js';
import { createEmbeddedClient } from './client/client.js';
import { type CoordinationReplica, createCoordinationReplica } from './coordination/codec.js';
import type { ConflictRule } from './coordination/state-machine.js';
import { createDurableDirSync, createNodeFileSystem, type NodeFileSystem } from './env/node-fs.js';
import { createRealClock } from './env/real-clock.js';
import { createRealRandom } from './env/real-random.js';
import type { Env, FileSystem } from './env/types.js';
import type { StateMachine } from './node/kv-state-machine.js';
import type { LogStore } from './node/log-store.js';
import {
  createNode as createRaftNode,
  type NodeConfig,
  type NodeObserver,
  type RaftNode,
} from './node/node.js';
import { claimDataDir } from './server/data-dir.js';
import { DedupStateMachine } from './server/envelope.js';
import {
  addressResolver,
  createRequestHandler,
  type RequestHandler,
  serveClientProtocol,
} from './server/handler.js';
import { coordinationDutyHooks, startLeaderDuties } from './server/leader-duties.js';
import { ensureDurableDir } from './storage/fs-util.js';
import type { StorageOptions } from './storage/storage.js';
import { createWalLogStore, type WalLogStore } from './storage/wal-log-store.js';
import { createTcpNetwork } from './transport/tcp-network.js';
import type { TcpNetwork, TransportLogger, TransportTlsOptions } from './transport/types.js';

/** Options of the public `createNode` (see module doc). */
export interface CreateNodeOptions {
  id: string;
  /** Initial voters (including `id`): ids (needs `env`) or id -> 'HOST:PORT' (real env without `env`). */
  peers: readonly string[] | Readonly<Record<string, string>>;
  /** The world the node runs in (default: the real env built from `peers` and `dataDir`). */
  env?: Env;
  /** Real env: the data directory (required, created if missing). With `env`: a directory inside `env.fs`. */
  dataDir?: string;
  config?: NodeConfig;
  /** A custom replicated state machine (then `node.client()` is unavailable). */
  stateMachine?: StateMachine;
  /** Storage behind the LogStore interface (default: the WAL on the env's file system). */
  logStore?: LogStore;
  /**
   * Options of the default WAL. Default on the real env: the WAL's (64 MiB zero-filled
   * segments); on a supplied env: `SUPPLIED_ENV_STORAGE` (small sparse segments: a simulated disk
   * keeps files in memory).
   */
  storage?: StorageOptions;
  observer?: NodeObserver;
  /** Real env: cluster id checked in transport handshakes (default 'vibee'). */
  clusterId?: string;
  /** Conflict strategies per key prefix for the default state machine (same on every member). */
  conflictRules?: readonly ConflictRule[];
  /** Real env: TLS for the transport. */
  tls?: TransportTlsOptions;
  /** Real env: transport logger. */
  logger?: TransportLogger;
}

/** What `createNode` adds to the `RaftNode`. */
export interface EmbeddedNodeApi {
  /** The coordination replica under the default state machine (null with a custom one). */
  readonly replica: CoordinationReplica | null;
  /** Real env: the bound TCP port (null on a supplied env). */
  readonly port: number | null;
  /**
   * The embedded client on the env clock (see module doc). Throws an Error at once when a custom
   * `stateMachine` was given (the client speaks the coordination commands).
   */
  client(opts?: Omit<EmbeddedClientOptions, 'clock'>): Promise<Client>;
  /** Stops the member and closes what `createNode` created. Idempotent. */
  close(): Promise<void>;
}

/** A member started by the public `createNode`. */
export type EmbeddedNode = RaftNode & EmbeddedNodeApi;

const PREFIX = 'createNode';

/** WAL options used by default on a supplied env (see `CreateNodeOptions.storage`). */
export const SUPPLIED_ENV_STORAGE: Readonly<StorageOptions> = Object.freeze({
  segmentSize: 256 * 1024,
  preallocate: 'sparse',
});

/** Parses 'HOST:PORT' or '[v6]:PORT'. */
function parseHostPort(s: string, what: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new TypeError(`${PREFIX}: ${what} must be 'HOST:PORT', got '${s}'`);
  return { host: m[1] as string, port };
}

/** `fs` seen from inside `dir` (every path prefixed). */
function subdirFs(fs: FileSystem, dir: string): FileSystem {
  const base = dir.replace(/\/+$/, '');
  const p = (path: string) => (path === '' || path === '.' ? base : `${base}/${path}`);
  return {
    readFile: (path) => fs.readFile(p(path)),
    write: (path, offset, bytes) => fs.write(p(path), offset, bytes),
    truncate: (path, size) => fs.truncate(p(path), size),
    sync: (path) => fs.sync(p(path)),
    writeDurable:
      fs.writeDurable &&
      ((path, offset, bytes) => fs.writeDurable?.(p(path), offset, bytes) as Promise<void>),
    writeDurableNow:
      fs.writeDurableNow && ((path, offset, bytes) => fs.writeDurableNow?.(p(path), offset, bytes) === true),
    rename: (from, to) => fs.rename(p(from), p(to)),
    remove: (path) => fs.remove(p(path)),
    list: (d) => fs.list(p(d)),
    mkdir: (d) => fs.mkdir(p(d)),
    syncDir: (d) => fs.syncDir(p(d)),
    size: (path) => fs.size(p(path)),
  };
}

/** A client id from `random` (the env's: deterministic in a simulation, the OS CSPRNG for real). */
function randomClientId(nodeId: string, n: number, random: () => number): string {
  const hex = () =>
    Math.floor(random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  return `${nodeId}.c${n}.${hex()}${hex()}`;
}

/**
 * Starts a member (see module doc). Throws a TypeError for an id-list `peers` without `env`, or a
 * real env without `dataDir`; rejects with the storage's `WalCorruptionError` on a damaged log.
 */
export async function createNode(opts: CreateNodeOptions): Promise<EmbeddedNode> {
  const { id } = opts;
  if (typeof id !== 'string' || id === '') throw new TypeError(`${PREFIX}: 'id' must be a non-empty string`);
  const list = Array.isArray(opts.peers);
  const record = list ? null : (opts.peers as Readonly<Record<string, string>>);
  if (opts.peers === null || typeof opts.peers !== 'object')
    throw new TypeError(`${PREFIX}: 'peers' must be an array of ids or a record id -> 'HOST:PORT'`);
  const ids = list ? [...(opts.peers as readonly string[])] : Object.keys(record ?? {});

  // What this call creates (and therefore closes).
  let network: TcpNetwork | null = null;
  let nodeFs: NodeFileSystem | null = null;
  let unclaim: (() => void) | null = null;
  let env: Env;
  if (opts.env) {
    env = opts.env;
  } else {
    if (!record)
      throw new TypeError(
        `${PREFIX}: 'peers' as a list of ids needs an 'env'; to run on the real env (TCP, node:fs) pass peers as a record id -> 'HOST:PORT' and a 'dataDir'`,
      );
    if (typeof opts.dataDir !== 'string' || opts.dataDir === '')
      throw new TypeError(
        `${PREFIX}: the real env (no 'env' given) needs 'dataDir', the member's data directory`,
      );
    const own = record[id];
    if (own === undefined)
      throw new TypeError(
        `${PREFIX}: 'peers' must include this node's own id '${id}' with its listen address`,
      );
    const listen = parseHostPort(own, `peers['${id}']`);
    for (const [k, v] of Object.entries(record)) parseHostPort(v, `peers['${k}']`);
    createDurableDirSync(opts.dataDir);
    // The directory must be this member's, and in use by no other process (server/data-dir.ts).
    unclaim = claimDataDir(opts.dataDir, id, opts.clusterId ?? 'vibee');
    const random = createRealRandom();
    network = createTcpNetwork({
      nodeId: id,
      clusterId: opts.clusterId ?? 'vibee',
      listen,
      peers: { ...record },
      tls: opts.tls,
      logger: opts.logger,
      random,
    });
    nodeFs = createNodeFileSystem(opts.dataDir);
    env = { clock: createRealClock(), random, network, fs: nodeFs };
  }

  let wal: WalLogStore | null = null;
  let store = opts.logStore;
  if (!store) {
    let fs = env.fs;
    if (opts.env && opts.dataDir) {
      // The data dir's own entry (and its ancestors') MUST be durable, or a crash loses the
      // whole member: the WAL only syncs the directories below it.
      await ensureDurableDir(env.fs, opts.dataDir);
      fs = subdirFs(env.fs, opts.dataDir);
    }
    wal = createWalLogStore(fs, opts.storage ?? (opts.env ? SUPPLIED_ENV_STORAGE : {}));
    store = wal;
  }
  const replica = opts.stateMachine ? null : createCoordinationReplica({ conflictRules: opts.conflictRules });
  const sm = opts.stateMachine ?? new DedupStateMachine(replica as CoordinationReplica);

  const releaseCreated = async () => {
    await network?.close().catch(() => undefined);
    await wal?.close().catch(() => undefined);
    await nodeFs?.close().catch(() => undefined);
    unclaim?.();
  };

  let node: RaftNode;
  try {
    node = await createRaftNode({
      id,
      peers: ids,
      env,
      config: opts.config,
      stateMachine: sm,
      logStore: store,
      observer: opts.observer,
    });
  } catch (e) {
    await releaseCreated();
    throw e;
  }
  const clock = env.clock;

  // Real env with the coordination machine: serve the client protocol on the member's port.
  let server: RequestHandler | null = null;
  if (network && replica && record) {
    server = createRequestHandler({
      node,
      replica,
      clock,
      addressOf: addressResolver(node, record),
      ...(sm instanceof DedupStateMachine ? { decodedProposals: sm } : {}),
    });
    serveClientProtocol(network, server);
  }
  let port: number | null = null;
  if (network) {
    try {
      port = (await network.start()).port;
    } catch (e) {
      server?.close();
      node.stop();
      await node.idle();
      await releaseCreated();
      throw e;
    }
  }

  // Leader duties: commit elapsed coordination time, collect tombstones (see leader-duties.ts).
  const duties = replica ? startLeaderDuties(node, clock, coordinationDutyHooks(replica.machine)) : null;

  const clients = new Set<Client>();
  let clientN = 0;
  let closing: Promise<void> | null = null;

  const api: EmbeddedNodeApi = {
    replica,
    port,
    client(o = {}) {
      if (!replica)
        throw new Error(
          `${PREFIX}: node.client() needs the default coordination state machine; this node was given a custom 'stateMachine' (propose its commands with node.propose())`,
        );
      if (closing) throw new Error(`${PREFIX}: node ${id} is closed`);
      const clientId = o.clientId ?? randomClientId(id, ++clientN, () => env.random());
      return createEmbeddedClient(node, replica, { random: () => env.random(), ...o, clientId, clock }).then(
        (c) => {
          clients.add(c);
          const close = c.close.bind(c);
          c.close = async () => {
            clients.delete(c);
            await close();
          };
          return c;
        },
      );
    },
    close() {
      if (closing) return closing;
      closing = (async () => {
        // Clients first (their sessions close through the still-running node, best effort).
        await Promise.all([...clients].map((c) => c.close().catch(() => undefined)));
        duties?.stop();
        server?.close();
        node.stop();
        await node.idle();
        await releaseCreated();
      })();
      return closing;
    },
  };
  return Object.assign(node, api) as EmbeddedNode;
}
