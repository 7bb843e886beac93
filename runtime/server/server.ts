/**
 * `startServer`: one member as a real process component: WAL-backed Raft node on the real clock,
 * randomness, file system and TCP transport; the coordination replica behind the exactly-once
 * wrapper; the client protocol on the same port; optional HTTP metrics/health/status.
 *
 * Lifecycle contracts:
 * - A damaged log (mid-log corruption) rejects with the storage's `WalCorruptionError` (file,
 *   offset, remedy) before anything listens; a torn tail is repaired and logged.
 * - The leader advances coordination time: every SESSION_CHECK_INTERVAL_MS it proposes a
 *   `TimeAdvance` of the monotonic time elapsed since its previous one (a new leader starts
 *   counting at its election, so committed time never runs faster than real time).
 * - `close({ transfer: true })`: a leader hands over to the most caught-up voter and waits (bounded)
 *   for the handover, then the node stops, the transport and the WAL close.
 */
import type { ConsensusConfig, NodeRole } from '../../generated/index.js';
import { decodeClusterConfig, validateConsensusConfig } from '../../generated/index.js';
import { type CoordinationReplica, createCoordinationReplica } from '../coordination/codec.js';
import type { ConflictRule } from '../coordination/state-machine.js';
import { createDurableDirSync, createNodeFileSystem } from '../env/node-fs.js';
import { createRealClock } from '../env/real-clock.js';
import { createRealRandom } from '../env/real-random.js';
import type { Env } from '../env/types.js';
import { createNode, type NodeConfig, type RaftNode } from '../node/node.js';
import type { JoinCheck } from '../raft/types.js';
import { createWalLogStore } from '../storage/wal-log-store.js';
import { createTcpNetwork } from '../transport/tcp-network.js';
import type {
  TcpNetwork,
  TransportLimits,
  TransportLogger,
  TransportTlsOptions,
} from '../transport/types.js';
import {
  claimDataDir,
  clearJoinPending,
  DataDirError,
  holdsNoRaftState,
  joinPending,
  markJoinPending,
} from './data-dir.js';
import { DedupStateMachine } from './envelope.js';
import {
  addressResolver,
  bestVoter,
  createRequestHandler,
  handOver,
  type RequestHandler,
  resolveEndpoint,
  serveClientProtocol,
} from './handler.js';
import { type HttpEndpoint, startHttp } from './http.js';
import { coordinationDutyHooks, startLeaderDuties } from './leader-duties.js';
import type { ServerStatus } from './protocol.js';
import { createSampleBuffer } from './sample-buffer.js';
import { createServerTracing } from './tracing.js';

/** A host and port. */
export interface HostPort {
  host: string;
  port: number;
}

/** A structured logger (pino fits). */
export interface ServerLogger extends TransportLogger {
  child?(bindings: object): ServerLogger;
}

/**
 * `logger` with this member's id bound as `node` on every line, unless it binds one already (the
 * CLI's pino logger has it in its base: binding it twice would print the key twice).
 */
function memberLogger(logger: ServerLogger | undefined, id: string): ServerLogger {
  if (!logger) return silent;
  const bound = (logger as { bindings?(): Record<string, unknown> }).bindings?.();
  if (bound && 'node' in bound) return logger;
  if (logger.child) return logger.child({ node: id });
  // No child loggers: add the field to each line.
  const withNode =
    (write: (obj: object, msg: string) => void) =>
    (obj: object, msg: string): void =>
      write.call(logger, { node: id, ...obj }, msg);
  return {
    debug: withNode(logger.debug),
    info: withNode(logger.info),
    warn: withNode(logger.warn),
    error: withNode(logger.error),
  };
}

/**
 * Whether configuration `c` keeps member `id` (as a voter or learner; a joint configuration that
 * has it only among the outgoing voters is removing it).
 */
function namesMember(c: { voters: readonly string[]; learners: readonly string[] }, id: string): boolean {
  return c.voters.includes(id) || c.learners.includes(id);
}

/** Options of `startServer`. */
export interface ServerOptions {
  id: string;
  /** Address to listen on (port 0: any free port). */
  listen: HostPort;
  /** Every member's address, including this one's (the initial voters unless `join`). */
  peers: Map<string, HostPort>;
  /** The member's data directory (created if missing). */
  dataDir: string;
  /** HTTP endpoint for /metrics, /health, /status. */
  http?: HostPort;
  /** Start with no configuration and wait to be added by the leader (`members add`). */
  join?: boolean;
  /** Default 'vibee'. */
  clusterId?: string;
  /** Partial `ConsensusConfig` (validated; defaults from the spec). */
  config?: Partial<ConsensusConfig>;
  logger?: ServerLogger;
  tls?: TransportTlsOptions;
  transportLimits?: TransportLimits;
  /**
   * Conflict strategies per key prefix (longest prefix wins; default last_writer_wins). Part of the
   * state machine's definition: every member MUST be given the same rules.
   */
  conflictRules?: readonly ConflictRule[];
  /**
   * Called once when the member stops serving on an error (a failed disk: EIO, ENOSPC; or an
   * internal invariant). It then answers clients `not_leader` with no leader and reports role
   * `failed`; `consensus serve` exits 1 so that a supervisor sees it.
   */
  onFailed?: (err: unknown) => void;
  /**
   * While this member is a follower and its disk is fast, it writes and syncs its WAL on the event
   * loop thread (`NodeFileSystemOptions.syncOnLoopThread`: about 60 µs less per commit on a small
   * machine). A disk that hangs then stops the whole process, so this is for a process that runs
   * one member and nothing else: `consensus serve` sets it. Default false (an application
   * embedding members, or several members in one process, keeps its loop on a hung disk).
   */
  followerSyncOnLoopThread?: boolean;
}

/** A running member. */
export interface Server {
  readonly id: string;
  /** The bound Raft + client port. */
  readonly port: number;
  readonly httpPort?: number;
  readonly node: RaftNode;
  readonly replica: CoordinationReplica;
  readonly network: TcpNetwork;
  /** What `kind=status` returns. */
  status(): ServerStatus;
  /** Stops the member; with `transfer` a leader hands leadership over first. Idempotent. */
  close(opts?: { transfer?: boolean; transferTimeoutMs?: number }): Promise<void>;
}

const silent: ServerLogger = { debug() {}, info() {}, warn() {}, error() {} };
const fmt = (h: HostPort) => (h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`);

/** Maps the spec's `ConsensusConfig` to the node's options. */
export function nodeConfigOf(c: ConsensusConfig): NodeConfig {
  return {
    electionTimeoutMin: c.electionTimeoutMinMs,
    electionTimeoutMax: c.electionTimeoutMaxMs,
    heartbeatInterval: c.heartbeatIntervalMs,
    preVote: c.preVote,
    checkQuorum: c.checkQuorum,
    snapshotInterval: c.snapshotInterval,
    snapshotLogPercent: c.snapshotLogPercent,
    maxLogEntries: c.maxLogEntries,
    maxPendingProposals: c.maxPendingProposals,
    maxInflight: c.maxInflightAppends,
    maxAppendBytes: c.maxAppendBytes,
    clockDriftBound: c.clockDriftBoundMs,
    maxRetriesPerAppend: c.maxRetriesPerAppend,
    maxSyncStallMs: c.maxSyncStallMs,
  };
}

/** Starts a member (see module doc). Rejects with `WalCorruptionError` on a damaged log. */
export async function startServer(opts: ServerOptions): Promise<Server> {
  const log = memberLogger(opts.logger, opts.id);
  const cfg = validateConsensusConfig(opts.config ?? {});
  // A joining member has no configuration with addresses yet; it answers the leader over the
  // connections it dials itself, so it must know where the existing members are.
  if (opts.join && ![...opts.peers.keys()].some((id) => id !== opts.id))
    throw new RangeError(
      'join: peers must name the existing members (ID=HOST:PORT): a joining member cannot answer a leader it has no address for',
    );
  const clusterId = opts.clusterId ?? 'vibee';
  /**
   * Whether the latest configuration in this member's log names it (see the removal warning):
   * set from the configuration it starts with (none for a joining member, whose catch-up replays
   * older configurations that do not name it), then from each configuration persisted.
   */
  let wasInConfig = false;
  let nodeStarted = false;
  try {
    createDurableDirSync(opts.dataDir);
  } catch (e) {
    throw new DataDirError(`cannot create the data directory ${opts.dataDir}: ${(e as Error).message}`);
  }
  // Before anything reads the WAL: it must be this member's, and nobody else's right now.
  const unclaim = claimDataDir(opts.dataDir, opts.id, clusterId);
  // Judged by the core (RaftConfig.freshJoin, freshBootstrap): no votes as usual until it has
  // found itself a newcomer, or caught up. A dir with no WAL and no snapshot has no Raft state
  // (other files, lost+found, may be there): a first start, or a member whose dir was emptied.
  // Until it has Raft state it has acknowledged nothing: the way it is started now decides.
  const startedAs = opts.join ? 'join' : 'bootstrap';
  const marked = joinPending(opts.dataDir);
  if (holdsNoRaftState(opts.dataDir) && marked?.mode !== startedAs)
    markJoinPending(opts.dataDir, startedAs, marked?.target, marked?.term);
  const joining = joinPending(opts.dataDir);
  const freshJoin = joining?.mode === 'join';
  const freshBootstrap = joining?.mode === 'bootstrap';
  let savedJoinTarget = joining?.target;
  let savedJoinTargetTerm = joining?.term;
  let joinReported: JoinCheck | null = joining ? 'pending' : null;
  /** Says the check's verdict once; the marker goes once the member may vote as usual. */
  const reportJoinCheck = (verdict: JoinCheck | null): void => {
    if (verdict === joinReported || verdict === null) return;
    joinReported = verdict;
    if (verdict === 'ok') {
      clearJoinPending(opts.dataDir);
      if (freshBootstrap)
        log.info(
          {},
          'caught up with what the cluster had committed when this member started on an empty data dir; it votes from now on',
        );
      else log.info({}, 'join confirmed: this member was added as a new member; it votes from now on');
    } else if (verdict === 'lost_log') {
      log.error(
        {},
        `this member started on an empty data dir, but the cluster already counts it as a voter: its log and votes were lost, and it will not vote. Stop it, run 'consensus members remove ${opts.id}', then 'consensus members add ${opts.id} HOST:PORT', empty its data dir and start it again with --join (a restart is needed), and 'consensus members promote ${opts.id}' once it has caught up`,
      );
    }
  };
  const clock = createRealClock();
  const random = createRealRandom();
  // With `followerSyncOnLoopThread`, a follower syncs its WAL on the loop thread (see
  // `syncOnLoopThread`); every other role keeps the bounded wait. A member starts as a follower;
  // the node observer tracks changes.
  let role: NodeRole = 'follower';
  const fs = createNodeFileSystem(
    opts.dataDir,
    opts.followerSyncOnLoopThread ? { syncOnLoopThread: () => role === 'follower' } : {},
  );
  const staticPeers: Record<string, string> = {};
  for (const [id, hp] of opts.peers) staticPeers[id] = fmt(hp);
  const network = createTcpNetwork({
    nodeId: opts.id,
    clusterId,
    listen: opts.listen,
    peers: staticPeers,
    tls: opts.tls,
    logger: log.child ? log.child({ component: 'transport' }) : log,
    limits: opts.transportLimits,
    random,
    // A member started to join is not in its peers' configuration yet: they would refuse it.
    announce: !freshJoin,
  });
  const env: Env = { clock, random, network, fs };
  const store = createWalLogStore(fs, { onWarning: (message) => log.warn({}, message) });
  let http: HttpEndpoint | undefined;
  // fsync latency: the saves that waited for a WAL write + fdatasync, recorded for the histogram
  // (moved into it at scrape time: see sample-buffer.ts). A save of a commit-only hard state
  // resolves at once and rides with the next sync: it is no fsync, and counting it would halve the
  // histogram's mean.
  const fsyncSamples = createSampleBuffer();
  const rawSaveNow = store.saveNow.bind(store);
  const observeSave = (syncsBefore: number, t0: number): void => {
    if (store.storage.wal.syncCount !== syncsBefore) fsyncSamples.record((performance.now() - t0) / 1000);
  };
  store.saveNow = (hs, entries) => {
    const syncsBefore = store.storage.wal.syncCount;
    const t0 = performance.now();
    const saving = rawSaveNow(hs, entries);
    if (!saving) {
      observeSave(syncsBefore, t0);
      return undefined;
    }
    return saving.then(() => observeSave(syncsBefore, t0));
  };
  store.save = (hs, entries) => {
    try {
      return store.saveNow(hs, entries) ?? Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  };
  const replica = createCoordinationReplica({ conflictRules: opts.conflictRules });
  const dedup = new DedupStateMachine(replica);
  const counters = { elections: 0 };
  const tracing = createServerTracing({ nodeId: opts.id, now: () => clock.now() });
  let node: RaftNode;
  try {
    node = await createNode({
      id: opts.id,
      peers: opts.join ? [] : [...opts.peers.keys()],
      env,
      logStore: store,
      stateMachine: dedup,
      config: {
        ...nodeConfigOf(cfg),
        freshJoin,
        freshBootstrap,
        ...(joining?.target !== undefined ? { joinTarget: joining.target } : {}),
        ...(joining?.term !== undefined ? { joinTargetTerm: joining.term } : {}),
      },
      observer: {
        onRoleChange(_id, t: { from: NodeRole; to: NodeRole; event: string; term: number }) {
          role = t.to;
          if (t.to === 'candidate') counters.elections++;
          tracing.onRoleChange(t);
          log.info({ from: t.from, to: t.to, term: t.term, event: t.event }, 'role change');
        },
        onError(_id, err) {
          log.error({ err: String(err) }, 'node stopped: it no longer serves or acknowledges anything');
          opts.onFailed?.(err);
        },
        onApply(_id, e) {
          if (e.entryType !== 'configuration') return;
          const c = decodeClusterConfig(e.command);
          log.info(
            { index: e.index, voters: c.voters, votersOutgoing: c.votersOutgoing, learners: c.learners },
            'membership configuration applied',
          );
        },
        onPersisted(_id, _hs, entries) {
          // A member being removed may never apply its removal: the leader stops replicating to
          // it (and so never tells it the commit) once the configuration without it is in the
          // log. What reaches its log is the joint configuration that keeps it only among the
          // outgoing voters: say it there, once, or the member just waits, silently.
          for (const e of entries) {
            if (e.entryType !== 'configuration') continue;
            const c = decodeClusterConfig(e.command);
            const inConfig = namesMember(c, opts.id);
            if (wasInConfig && !inConfig)
              log.warn(
                { index: e.index, voters: c.voters, learners: c.learners },
                'the cluster is removing this member: once that commits, stop it (its data dir can then be deleted), or add it again',
              );
            wasInConfig = inConfig;
          }
          // A joining member may learn its membership from an installed snapshot (its "add"
          // entry compacted away) rather than from an entry: look at the configuration then.
          if (!wasInConfig && nodeStarted) {
            const c = node.status().config;
            wasInConfig = namesMember(c, opts.id);
          }
          if (joinReported === 'pending' && nodeStarted) {
            // The target MUST be durable before this member acknowledges anything (the
            // acknowledgements leave after this hook): see RaftConfig.joinTarget.
            const target = node.status().joinTarget;
            const term = node.status().joinTargetTerm ?? undefined;
            if (target !== null && (target !== savedJoinTarget || term !== savedJoinTargetTerm)) {
              markJoinPending(opts.dataDir, freshBootstrap ? 'bootstrap' : 'join', target, term);
              savedJoinTarget = target;
              savedJoinTargetTerm = term;
            }
            reportJoinCheck(node.status().joinCheck);
          }
        },
      },
    });
    nodeStarted = true;
  } catch (e) {
    await store.close().catch(() => undefined);
    await fs.close().catch(() => undefined);
    unclaim();
    if ((e as Error).name === 'WalCorruptionError')
      log.error({ err: (e as Error).message }, 'refusing to start');
    throw e;
  }
  {
    const c = node.status().config;
    wasInConfig ||= namesMember(c, opts.id);
  }
  if (freshJoin)
    log.info(
      {},
      'started to join on an empty data dir: this member grants no votes until it has caught up and found itself added (a learner or a new voter)',
    );
  else if (freshBootstrap && joinReported === 'pending')
    log.info(
      {},
      'started on an empty data dir with the static member list: until it has caught up with what the cluster has committed, this member votes only for candidates with an empty log (a cluster still forming). A voter whose data dir was emptied must not vote with the log it lost',
    );
  const repair = store.recovered?.repair;
  if (repair?.tornTail) log.warn({ ...repair.tornTail }, 'repaired a torn WAL tail');

  const addressOf = addressResolver(node, staticPeers);
  // Membership: dial every member named in the configuration (addresses from conf changes win),
  // and a member about to be added at once (the leader's first append to it must not be dropped).
  const proposedAddresses: Record<string, string> = {};
  let peersKey = '';
  const followAddresses = (): void => {
    const merged: Record<string, string> = { ...staticPeers, ...proposedAddresses };
    for (const a of node.status().config.addresses) {
      if (a.address) merged[a.id] = a.address;
      delete proposedAddresses[a.id]; // the configuration has it now
    }
    const key = JSON.stringify(merged);
    if (key !== peersKey) {
      peersKey = key;
      network.setPeers(merged);
    }
  };
  const handler: RequestHandler = createRequestHandler({
    node,
    replica,
    clock,
    addressOf,
    tracing,
    resolveAddress: resolveEndpoint,
    decodedProposals: dedup,
    beforeConfChange(cc) {
      if (cc.changeType === 'remove_node' || !cc.address) return;
      proposedAddresses[cc.nodeId] = cc.address;
      followAddresses();
    },
  });
  serveClientProtocol(network, handler, {
    onMalformed: (clientId, e) => log.warn({ clientId, err: String(e) }, 'malformed client request'),
  });
  // Everything started from here on is stopped by `release`, also when a later step of the start
  // fails (a taken port, a bad --http address): no member may keep running without a handle.
  let duties: { stop(): void } | undefined;
  const release = async (): Promise<void> => {
    duties?.stop();
    handler.close();
    node.stop();
    await node.idle(); // the WAL closes only after the member's last write ended
    tracing.close();
    await http?.close();
    await network.close();
    await store.close().catch((e) => log.warn({ err: String(e) }, 'closing the WAL failed'));
    await fs.close().catch(() => undefined);
    unclaim();
  };
  let port: number;
  try {
    ({ port } = await network.start());
    log.info({ port, dataDir: opts.dataDir, join: !!opts.join }, 'listening');

    // Leader duties (TimeAdvance, tombstone collection) and following membership addresses.
    duties = startLeaderDuties(node, clock, {
      ...coordinationDutyHooks(replica.machine),
      onTick: followAddresses,
    });

    if (opts.http) {
      http = await startHttp(opts.http, {
        node,
        network,
        status: () => handler.status(),
        counters: () => ({ ...counters, duplicates: dedup.duplicates }),
        fsyncSamples,
      });
      log.info({ port: http.port }, 'http listening');
    }
  } catch (e) {
    await release();
    throw e;
  }

  let closing: Promise<void> | null = null;
  const close = (c: { transfer?: boolean; transferTimeoutMs?: number } = {}): Promise<void> => {
    if (closing) return closing;
    closing = (async () => {
      // A failed member cannot hand over: its log saves no longer run.
      if (c.transfer && node.status().role === 'leader' && !node.error) {
        const target = bestVoter(node);
        if (target) {
          log.info({ target }, 'handing leadership over before shutdown');
          try {
            await handOver(node, clock, target, c.transferTimeoutMs ?? 3000);
          } catch (e) {
            log.warn({ err: String(e) }, 'leadership transfer failed');
          }
        }
      }
      await release();
      log.info({}, 'stopped');
    })();
    return closing;
  };

  return {
    id: opts.id,
    port,
    httpPort: http?.port,
    node,
    replica,
    network,
    status: () => handler.status(),
    close,
  };
}
