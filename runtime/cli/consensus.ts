#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import pino from 'pino';
import {
  CONF_CHANGE_TYPE_VALUES,
  type ConfChangeType,
  ConfigError,
  MAX_BARRIER_TIMEOUT_MS,
  MAX_LOCK_TTL_MS,
  validateConsensusConfig,
} from '../../generated/index.js';
import { type Client, connect } from '../client/client.js';
import { IndeterminateError, UnreachableError } from '../client/errors.js';
/**
 * The `consensus` command: `serve` (one member) and the client verbs `status`, `put`, `get`, `del`,
 * `lock`, `barrier`, `members`, `transfer-leader`. Exit codes (stable, see docs/cli.md):
 * 0 ok, 1 operation failed, 2 bad flags or usage, 3 no endpoint reachable, 4 outcome indeterminate.
 * `lock NAME -- COMMAND...` exits with COMMAND's exit code.
 */
import { parseConflictRules } from '../coordination/conflict-rules.js';
import { CoordinationError } from '../coordination/errors.js';
import type { ConflictRule } from '../coordination/state-machine.js';
import { startServer } from '../server/server.js';
import { versionLine } from '../version.js';
import {
  FlagError,
  formatHostPort,
  parseEndpoints,
  parseFraction,
  parseHostPort,
  parseIntFlag,
  parseNodeId,
  parsePeers,
  parseTlsFlags,
} from './flags.js';

/** Stable exit codes. */
/** Signals `consensus lock` passes on to its COMMAND (which then ends, and the lock is released). */
const FORWARDED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, indeterminate: 4 } as const;

const USAGE = `usage: consensus <command> [flags]   (--version: the package and wire protocol versions)
  demo [--json] [--keep]    (a real 3-member cluster, narrated and verified)
  bench [--etcd HOST:PORT,...] [--json FILE] [--plot FILE.svg] [--workloads id,...] [--scale X] [--rounds K]
  serve --id ID --listen HOST:PORT --peers ID=HOST:PORT,... --data DIR [--http HOST:PORT] [--join]
        [--cluster-id ID] [--config FILE] [--log-level LEVEL]
        [--tls-cert FILE --tls-key FILE --tls-ca FILE [--tls-require-peer-id]]
  status | put KEY VALUE | get KEY [--consistency linearizable|lease|stale] | del KEY
  lock NAME [--ttl MS] [--wait MS] -- COMMAND...
  barrier NAME --participants N [--threshold F] [--timeout MS]
  members list | members add ID HOST:PORT [--voter] | members remove ID | members promote ID
  transfer-leader ID
client verbs take --endpoints HOST:PORT,... [--json] [--timeout MS] [--cluster-id ID]
  [--tls-cert FILE --tls-key FILE --tls-ca FILE] (mutual TLS, when the members serve it)
exit codes: 0 ok, 1 failed, 2 bad flags, 3 no endpoint reachable or no leader, 4 indeterminate`;

class UsageError extends Error {}

/**
 * `parseArgs` (strict, positionals allowed) that also refuses a flag given twice (parseArgs keeps
 * the last, so `--id a --id b` ran as b), and says which flags the command line actually gave.
 */
function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  const { values, positionals, tokens } = parseArgs({
    args,
    options,
    strict: true,
    allowPositionals: true,
    tokens: true,
  });
  const given = new Set<string>();
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    if (given.has(t.name)) throw new FlagError(`--${t.name}`, 'is given more than once');
    given.add(t.name);
  }
  return { values, positionals, given };
}

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`consensus: ${s}\n`);
const utf8d = new TextDecoder();

const CLIENT_FLAGS = {
  endpoints: { type: 'string' },
  json: { type: 'boolean', default: false },
  timeout: { type: 'string' },
  'cluster-id': { type: 'string' },
  ttl: { type: 'string' },
  wait: { type: 'string' },
  participants: { type: 'string' },
  threshold: { type: 'string' },
  consistency: { type: 'string' },
  voter: { type: 'boolean', default: false },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
} as const;

async function serve(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    id: { type: 'string' },
    listen: { type: 'string' },
    peers: { type: 'string' },
    data: { type: 'string' },
    http: { type: 'string' },
    join: { type: 'boolean', default: false },
    'cluster-id': { type: 'string' },
    config: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-ca': { type: 'string' },
    'tls-require-peer-id': { type: 'boolean', default: false },
  });
  if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got ${positionals.join(' ')}`);
  for (const f of ['id', 'listen', 'data'] as const)
    if (!values[f]) throw new FlagError(`--${f}`, 'is required');
  const id = parseNodeId('--id', values.id as string);
  const listen = parseHostPort('--listen', values.listen as string);
  const peers = parsePeers('--peers', values.peers ?? '');
  if (!values.join) {
    if (peers.size === 0) peers.set(id, listen);
    if (!peers.has(id)) throw new FlagError('--peers', `must include this node's id ${id} (or use --join)`);
  } else if (![...peers.keys()].some((p) => p !== id)) {
    throw new FlagError('--peers', 'with --join, must name the existing members (ID=HOST:PORT,...)');
  }
  const http = values.http ? parseHostPort('--http', values.http) : undefined;
  const requirePeerId = values['tls-require-peer-id'] as boolean;
  const tlsFiles = parseTlsFlags(values, { id, requirePeerId });
  if (requirePeerId && !tlsFiles)
    throw new FlagError('--tls-require-peer-id', 'needs --tls-cert, --tls-key and --tls-ca');
  const tls = tlsFiles && { ...tlsFiles, requirePeerIdInCertificate: requirePeerId };
  const level = values['log-level'] as string;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level))
    throw new FlagError(
      '--log-level',
      `expected fatal|error|warn|info|debug|trace|silent, got ${JSON.stringify(level)}`,
    );
  let fileCfg: Record<string, unknown> = {};
  if (values.config) {
    let text: string;
    try {
      text = readFileSync(values.config, 'utf8');
    } catch (e) {
      throw new FlagError('--config', `cannot read ${values.config}: ${(e as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new FlagError('--config', `${values.config} is not valid JSON: ${(e as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new FlagError(
        '--config',
        `${values.config} must hold a JSON object, got ${JSON.stringify(parsed)}`,
      );
    fileCfg = parsed as Record<string, unknown>;
  }
  // `conflictRules` configures the coordination state machine, not Raft: validated on its own.
  const { conflictRules: rawRules, ...raftCfg } = fileCfg;
  let conflictRules: ConflictRule[] | undefined;
  try {
    conflictRules = rawRules === undefined ? undefined : parseConflictRules(rawRules);
  } catch (e) {
    throw new FlagError('--config', (e as Error).message);
  }
  const merged = { ...raftCfg, ...(values['cluster-id'] ? { clusterId: values['cluster-id'] } : {}) };
  let config: ReturnType<typeof validateConsensusConfig>;
  try {
    config = validateConsensusConfig(merged);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // The generated validator knows the Raft keys; conflictRules is read here, before it.
    throw new FlagError('--config', e.message.replace(/\(known: (.*)\)$/, '(known: $1, conflictRules)'));
  }
  const clusterId = values['cluster-id'] ?? (fileCfg.clusterId as string | undefined) ?? 'vibee';
  const logger = pino({ level, base: { node: id } }, pino.destination(2));
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  // SIGHUP re-reads the TLS files (certificate rotation without a restart) and never stops the
  // member, not even during start-up (node's default for SIGHUP is to exit); material that cannot
  // be read or used is refused and the previous one stays in use.
  process.on('SIGHUP', () => {
    if (!tlsFiles) {
      logger.warn('SIGHUP: nothing to reload (started without --tls-cert/--tls-key/--tls-ca)');
      return;
    }
    if (!server) {
      logger.warn('SIGHUP during start-up: ignored, send it again once the member listens');
      return;
    }
    try {
      const cert = server.network.reloadTls(
        parseTlsFlags(values, { id, requirePeerId }) as NonNullable<typeof tlsFiles>,
      );
      logger.info(cert, 'TLS certificate reloaded (SIGHUP): new connections use it');
    } catch (e) {
      logger.error(
        { err: (e as Error).message },
        'TLS reload failed (SIGHUP): still using the previous certificate',
      );
    }
  });
  // SIGTERM/SIGINT during start-up (WAL replay can take a while) stop the member once it is up,
  // with the same handover and flush, instead of node's default exit.
  let onStopSignal: ((sig: string) => void) | null = null;
  let pendingStop: string | null = null;
  const stopSignal = (sig: string) => {
    if (onStopSignal) onStopSignal(sig);
    else if (pendingStop === null) {
      pendingStop = sig;
      logger.info({ sig }, 'signal during start-up: stopping once started');
    } else process.exit(EXIT.failed); // a second one: at once (recovery is safe to interrupt)
  };
  process.on('SIGTERM', () => stopSignal('SIGTERM'));
  process.on('SIGINT', () => stopSignal('SIGINT'));
  // A member stopped on an error (a failed disk) exits 1: it serves nothing, and a supervisor
  // (systemd Restart=on-failure) or the operator must see it, as etcd exits on a failed fsync.
  let onFailure: ((e: unknown) => void) | null = null;
  let pendingFailure: { err: unknown } | null = null;
  const failed = (e: unknown) => {
    if (onFailure) onFailure(e);
    else pendingFailure ??= { err: e };
  };
  try {
    server = await startServer({
      onFailed: failed,
      // This process runs one member and nothing else: a follower may sync on the loop thread.
      followerSyncOnLoopThread: true,
      id,
      listen,
      peers,
      dataDir: values.data as string,
      http,
      join: values.join,
      clusterId,
      config,
      logger,
      conflictRules,
      ...(tls ? { tls } : {}),
    });
  } catch (e) {
    if ((e as Error).name === 'WalCorruptionError') {
      logger.flush();
      // The error names the file inside the data dir; say which data dir.
      err(`refusing to start (data dir ${resolvePath(values.data as string)}): ${(e as Error).message}`);
      return EXIT.failed;
    }
    if ((e as Error).name === 'DataDirError') throw new FlagError('--data', (e as Error).message);
    const sys = e as NodeJS.ErrnoException & { port?: number };
    if (sys.syscall === 'listen' || sys.syscall === 'getaddrinfo') {
      // Which of the two addresses failed: the operator's next step depends on it.
      const flag = http && sys.port === http.port ? '--http' : '--listen';
      const at = flag === '--http' && http ? formatHostPort(http) : formatHostPort(listen);
      err(`cannot listen on ${flag} ${at}: ${sys.code ?? sys.message}`);
      return EXIT.failed;
    }
    throw e;
  }
  const started = server;
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', id, port: started.port, httpPort: started.httpPort ?? null })}\n`,
  );
  return await new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: string) => {
      signals++;
      if (signals > 1) {
        logger.warn({ sig }, 'second signal: exiting at once');
        resolve(EXIT.failed);
        return;
      }
      logger.info({ sig }, 'shutting down (leadership handover, flush)');
      // Not unref'd: a shutdown stuck on a promise with no live handle must still end with 1.
      setTimeout(() => {
        logger.error('shutdown took too long: exiting');
        resolve(EXIT.failed);
      }, 10000);
      started.close({ transfer: true }).then(
        () => resolve(EXIT.ok),
        (e) => {
          logger.error({ err: String(e) }, 'shutdown failed');
          resolve(EXIT.failed);
        },
      );
    };
    onStopSignal = onSignal;
    onFailure = (e) => {
      logger.error(
        { err: String(e) },
        'exiting: this member failed; fix the cause (e.g. free or replace the disk), then start it again on the same data dir',
      );
      started.close().then(
        () => resolve(EXIT.failed),
        () => resolve(EXIT.failed),
      );
    };
    if (pendingFailure !== null) onFailure(pendingFailure.err);
    else if (pendingStop !== null) onSignal(pendingStop);
  });
}

type ClientValues = ReturnType<typeof parseClientArgs>['values'];

/** Flags every client verb takes. */
const COMMON_CLIENT_FLAGS = ['endpoints', 'json', 'timeout', 'cluster-id', 'tls-cert', 'tls-key', 'tls-ca'];
/** The flags a client verb takes beyond the common ones (a flag of another verb is refused). */
const VERB_FLAGS: Readonly<Record<string, readonly string[]>> = {
  get: ['consistency'],
  lock: ['ttl', 'wait'],
  barrier: ['participants', 'threshold'],
  members: ['voter'],
};

function parseClientArgs(verb: string, args: string[]) {
  const parsed = parseFlags(args, CLIENT_FLAGS);
  const allowed = new Set([...COMMON_CLIENT_FLAGS, ...(VERB_FLAGS[verb] ?? [])]);
  for (const flag of parsed.given)
    if (!allowed.has(flag)) throw new FlagError(`--${flag}`, `does not apply to ${verb}`);
  return parsed;
}

async function withClient(values: ClientValues, fn: (c: Client) => Promise<number>): Promise<number> {
  const endpoints = values.endpoints ?? process.env.CONSENSUS_ENDPOINTS;
  if (!endpoints) throw new FlagError('--endpoints', 'is required (or set CONSENSUS_ENDPOINTS)');
  const eps = parseEndpoints('--endpoints', endpoints).map(formatHostPort);
  const timeoutMs = values.timeout ? parseIntFlag('--timeout', values.timeout, 1, 86_400_000) : 5000;
  const tls = parseTlsFlags(values);
  const client = await connect({
    endpoints: eps,
    timeoutMs,
    clusterId: values['cluster-id'],
    ...(tls ? { tls } : {}),
  });
  try {
    return await fn(client);
  } finally {
    await client.close().catch(() => undefined);
  }
}

function need(positionals: string[], n: number, what: string): void {
  if (positionals.length !== n) throw new UsageError(`expected ${what}`);
}

async function clientVerb(verb: string, args: string[]): Promise<number> {
  // `lock NAME [flags] -- COMMAND...`: everything after `--` is the command.
  const dd = args.indexOf('--');
  const command = verb === 'lock' && dd >= 0 ? args.slice(dd + 1) : [];
  const { values, positionals } = parseClientArgs(
    verb,
    verb === 'lock' && dd >= 0 ? args.slice(0, dd) : args,
  );
  const json = values.json;
  const show = (human: string, obj: unknown) =>
    out(json ? JSON.stringify(obj, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : human);
  switch (verb) {
    case 'status':
      need(positionals, 0, 'no arguments');
      return withClient(values, async (c) => {
        const s = await c.status();
        show(
          [
            `leader ${s.leaderId ?? '(none)'} term ${s.term} commit ${s.commitIndex} applied ${s.appliedIndex} (answered by ${s.id}, ${s.role})`,
            ...s.members.map(
              (m) =>
                `  ${m.id}\t${m.role}${m.joint === 'incoming' ? ' (being added)' : m.joint === 'outgoing' ? ' (being removed)' : ''}\t${m.address ?? ''}${m.id === s.leaderId ? '\tleader' : ''}`,
            ),
          ].join('\n'),
          s,
        );
        return EXIT.ok;
      });
    case 'put':
      need(positionals, 2, 'KEY VALUE');
      return withClient(values, async (c) => {
        await c.put(positionals[0] as string, positionals[1] as string);
        show('ok', { ok: true });
        return EXIT.ok;
      });
    case 'get': {
      need(positionals, 1, 'KEY');
      const consistency = (values.consistency ?? 'linearizable') as 'linearizable' | 'lease' | 'stale';
      if (!['linearizable', 'lease', 'stale'].includes(consistency))
        throw new FlagError(
          '--consistency',
          `expected linearizable|lease|stale, got ${JSON.stringify(consistency)}`,
        );
      return withClient(values, async (c) => {
        const r = await c.get(positionals[0] as string, { consistency });
        const value = r.value ? utf8d.decode(r.value) : null;
        // Concurrent versions kept for the application (application_callback) are a value too.
        const siblings = r.siblings.map((s) => utf8d.decode(s));
        const absent = value === null && siblings.length === 0;
        // An absent key prints nothing on stdout (`v=$(consensus get k)` stays empty); --json
        // still prints its object there.
        if (absent && !json) err(`${positionals[0]}: not found`);
        else show(value ?? siblings.join('\n'), { key: positionals[0], value, siblings });
        return absent ? EXIT.failed : EXIT.ok;
      });
    }
    case 'del':
      need(positionals, 1, 'KEY');
      return withClient(values, async (c) => {
        await c.delete(positionals[0] as string);
        show('ok', { ok: true });
        return EXIT.ok;
      });
    case 'lock': {
      need(positionals, 1, 'NAME -- COMMAND...');
      if (command.length === 0) throw new UsageError('lock needs a command after `--`');
      const ttlMs = values.ttl ? parseIntFlag('--ttl', values.ttl, 1, MAX_LOCK_TTL_MS) : undefined;
      const waitMs = values.wait ? parseIntFlag('--wait', values.wait, 1, 86_400_000) : undefined;
      return withClient(values, async (c) => {
        const lock = await c.lock(positionals[0] as string, { ttlMs, waitMs });
        // Keep the lease while the command runs (renew at a third of the TTL).
        const ttl = ttlMs ?? 10000;
        const renew = setInterval(
          () => void lock.renew().catch(() => undefined),
          Math.max(50, Math.floor(ttl / 3)),
        );
        try {
          const child = spawn(command[0] as string, command.slice(1), {
            stdio: 'inherit',
            env: { ...process.env, FENCE_TOKEN: lock.fenceToken.toString() },
          });
          const onLost = () => {
            const why = lock.signal.reason instanceof Error ? lock.signal.reason.message : 'lock lost';
            err(`lock "${lock.name}" may no longer be held (${why}): stopping ${command[0]} with SIGTERM`);
            child.kill('SIGTERM');
          };
          lock.signal.addEventListener('abort', onLost, { once: true });
          // Our own SIGTERM/SIGINT/SIGHUP go to COMMAND; we release the lock once it ended (the
          // finally below), instead of dying with COMMAND orphaned and still running after the
          // lease ends and another holder takes the lock.
          const forward = (s: NodeJS.Signals) => child.kill(s);
          for (const s of FORWARDED_SIGNALS) process.on(s, forward);
          try {
            return await new Promise<number>((resolve) => {
              child.on('error', (e) => {
                err(`cannot run ${command[0]}: ${e.message}`);
                resolve(127);
              });
              // A signal death reports as the shell does: 128 + the signal's number.
              child.on('exit', (code, sig) =>
                resolve(code ?? (sig ? 128 + (osConstants.signals[sig] ?? 15) : 1)),
              );
            });
          } finally {
            for (const s of FORWARDED_SIGNALS) process.off(s, forward);
            lock.signal.removeEventListener('abort', onLost);
          }
        } finally {
          clearInterval(renew);
          await lock.release().catch(() => undefined);
        }
      });
    }
    case 'barrier': {
      need(positionals, 1, 'NAME');
      if (!values.participants) throw new FlagError('--participants', 'is required');
      const participants = parseIntFlag('--participants', values.participants, 1, 1_000_000);
      const threshold = values.threshold ? parseFraction('--threshold', values.threshold) : undefined;
      // --timeout is the barrier's timeout here (the call's deadline adds it to the default).
      return withClient(values, async (c) => {
        const bt = values.timeout
          ? parseIntFlag('--timeout', values.timeout, 1, MAX_BARRIER_TIMEOUT_MS)
          : undefined;
        const r = await c
          .barrier(positionals[0] as string, { participants, threshold, timeoutMs: bt })
          .arrive();
        show(`${r.outcome}: ${r.arrived.length} arrived (${r.arrived.join(', ')})`, r);
        return r.outcome === 'satisfied' ? EXIT.ok : EXIT.failed;
      });
    }
    case 'members': {
      const sub = positionals[0];
      if (sub === 'list') {
        need(positionals, 1, 'members list');
        return clientVerb(
          'status',
          args.filter((a) => a !== 'list' && a !== 'members'),
        );
      }
      let type: ConfChangeType;
      let nodeId: string;
      let address = '';
      if (sub === 'add') {
        need(positionals, 3, 'members add ID HOST:PORT');
        nodeId = parseNodeId('ID', positionals[1] as string);
        address = formatHostPort(parseHostPort('HOST:PORT', positionals[2] as string));
        type = values.voter ? 'add_voter' : 'add_learner';
      } else if (sub === 'remove' || sub === 'promote') {
        need(positionals, 2, `members ${sub} ID`);
        nodeId = parseNodeId('ID', positionals[1] as string);
        type = sub === 'remove' ? 'remove_node' : 'promote_learner';
      } else throw new UsageError('expected members list|add|remove|promote');
      if (!CONF_CHANGE_TYPE_VALUES.includes(type)) throw new UsageError(`unknown change ${type}`);
      return withClient(values, async (c) => {
        const r = await c.changeMembership({ changeType: type, nodeId, address });
        show(`ok (${type} ${nodeId} at index ${r.index})`, {
          ok: true,
          change: type,
          nodeId,
          index: r.index,
        });
        return EXIT.ok;
      });
    }
    case 'transfer-leader':
      need(positionals, 1, 'ID');
      return withClient(values, async (c) => {
        const r = await c.transferLeader(parseNodeId('ID', positionals[0] as string));
        show(`leader is now ${r.leaderId}`, r);
        return EXIT.ok;
      });
    default:
      throw new UsageError(`unknown command ${JSON.stringify(verb)}`);
  }
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    if (!verb) {
      out(USAGE);
      return EXIT.usage;
    }
    // `--help`/`-h` anywhere before a lock's `--`: the usage, whatever else the line says.
    const dashes = argv.indexOf('--');
    const flags = dashes >= 0 ? argv.slice(0, dashes) : argv;
    if (verb === 'help' || flags.some((a) => a === '--help' || a === '-h')) {
      out(USAGE);
      return EXIT.ok;
    }
    if (verb === '--version' || verb === 'version') {
      out(versionLine('consensus'));
      return EXIT.ok;
    }
    if (verb === 'demo') return await (await import('./demo.js')).demoMain(rest);
    if (verb === 'bench') return await (await import('./bench-command.js')).benchCommand(rest);
    if (verb === 'serve') return await serve(rest);
    return await clientVerb(verb, rest);
  } catch (e) {
    if (
      e instanceof FlagError ||
      e instanceof UsageError ||
      (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      err(`${(e as Error).message}\n${USAGE}`);
      return EXIT.usage;
    }
    if (e instanceof UnreachableError) {
      err(
        e.reason === 'no_leader'
          ? `cluster unavailable: ${e.message}`
          : `no endpoint reachable: ${e.message}`,
      );
      return EXIT.unreachable;
    }
    if (e instanceof IndeterminateError) {
      err(`outcome unknown (may or may not have been applied): ${e.message}`);
      return EXIT.indeterminate;
    }
    if (e instanceof CoordinationError) {
      err(`${e.code}: ${e.message}`);
      return EXIT.failed;
    }
    err(e instanceof Error ? e.message : String(e));
    return EXIT.failed;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Leftover handles (sockets closing, timers) must not keep a finished command alive.
    setTimeout(() => process.exit(code), 50).unref();
  },
  (e) => {
    err(String(e));
    process.exit(1);
  },
);
