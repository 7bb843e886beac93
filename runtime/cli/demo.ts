/**
 * `consensus demo`: a real 3-member cluster on this machine (three `consensus serve` child processes
 * over loopback TCP, data in a temp dir), narrated step by step, each step VERIFIED:
 * election, replication to a majority, FIFO fenced locks with a stale write refused by a
 * `FenceGuard`, a full and a partial barrier, concurrent writes detected by version vectors,
 * `kill -9` of the leader and the time until the new leader commits, a snapshot, a clean shutdown.
 *
 * Contracts:
 * - Exit 0 only when every step did what it says; a failed step stops the demo with exit 1.
 * - Children are killed (SIGKILL) in `finally` and on SIGINT/SIGTERM, so ports are freed even on
 *   failure; the temp dir is removed unless `--keep`.
 * - `--json`: one JSON object per line per event (`{"event":..,"ok":..,"t":ms,...}`), nothing else
 *   on stdout. Otherwise human narration with timestamps, coloured only when stdout is a TTY.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { VersionVector } from '../../generated/index.js';
import { type Client, connect } from '../client/client.js';
import { CoordinationError } from '../coordination/errors.js';
import { FenceGuard } from '../coordination/fence-guard.js';
import type { ServerStatus } from '../server/protocol.js';
import { freePorts } from '../transport/free-ports.js';

export { freePorts };

/** One member process of a `ProcessCluster`. */
export interface ProcessMember {
  readonly id: string;
  /** Raft + client port (fixed for the member's lifetime, also across restarts). */
  readonly port: number;
  /** HTTP port of the current process (changes on restart). */
  httpPort: number;
  /** The current child process (null once it exited and was not restarted). */
  proc: ChildProcess | null;
  /** Resolves with the current process's exit code (128 + n for a signal). */
  exited: Promise<number>;
  readonly dataDir: string;
  /** Collected stderr of the current process (bounded). */
  stderr(): string;
}

/** A cluster of real `consensus serve` processes on 127.0.0.1. */
export interface ProcessCluster {
  readonly members: ProcessMember[];
  /** `127.0.0.1:PORT` of every member. */
  readonly endpoints: string[];
  readonly root: string;
  /** `/status` of one member over its HTTP port (null when it does not answer). */
  status(id: string): Promise<ServerStatus | null>;
  /** Waits until a leader is known to a majority and to itself; rejects after `timeoutMs`. */
  waitLeader(timeoutMs?: number, exclude?: string): Promise<ServerStatus>;
  /** Sends `signal` to a member and resolves with its exit code. */
  stop(id: string, signal: NodeJS.Signals): Promise<number>;
  /** Restarts a stopped member with the same id, port and data dir. */
  restart(id: string): Promise<void>;
  /** SIGKILLs every live child (idempotent, synchronous: safe in `finally` and signal handlers). */
  killAll(): void;
}

/** Options of `startProcessCluster`. */
export interface ProcessClusterOptions {
  size?: number;
  /** Parent dir; every member gets `root/ID`. */
  root: string;
  /** Partial `ConsensusConfig` written to `root/config.json`. */
  config?: Record<string, unknown>;
  /** Path of the built `consensus.js` (default: the sibling of this module). */
  bin?: string;
  logLevel?: string;
}

/** The built CLI next to this module (dist/runtime/cli/consensus.js). */
export const CONSENSUS_BIN = fileURLToPath(new URL('./consensus.js', import.meta.url));

/** True when `port` can be bound on 127.0.0.1 right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts `size` (default 3) `consensus serve` processes; resolves once all print `listening`. */
export async function startProcessCluster(o: ProcessClusterOptions): Promise<ProcessCluster> {
  const size = o.size ?? 3;
  const bin = o.bin ?? CONSENSUS_BIN;
  const cfgPath = join(o.root, 'config.json');
  writeFileSync(cfgPath, JSON.stringify(o.config ?? {}));
  const ports = await freePorts(size);
  const ids = ports.map((_, i) => `n${i + 1}`);
  const endpoints = ports.map((p) => `127.0.0.1:${p}`);
  const peers = ids.map((id, i) => `${id}=${endpoints[i]}`).join(',');
  const members: ProcessMember[] = [];
  const spawnMember = (m: ProcessMember): Promise<void> => {
    const args = [bin, 'serve', '--id', m.id, '--listen', `127.0.0.1:${m.port}`, '--peers', peers];
    args.push('--data', m.dataDir, '--http', '127.0.0.1:0', '--config', cfgPath);
    args.push('--log-level', o.logLevel ?? 'warn');
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    proc.stderr?.on('data', (d) => {
      err = (err + d).slice(-20000);
    });
    m.proc = proc;
    m.stderr = () => err;
    m.exited = new Promise<number>((r) =>
      proc.on('exit', (c, sig) => {
        if (m.proc === proc) m.proc = null;
        r(c ?? (sig ? 128 + (sig === 'SIGKILL' ? 9 : 15) : -1));
      }),
    );
    return new Promise<void>((resolve, reject) => {
      proc.stdout?.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.includes('"listening"'));
        if (line) {
          m.httpPort = (JSON.parse(line) as { httpPort: number }).httpPort;
          resolve();
        }
      });
      void m.exited.then((code) =>
        reject(new Error(`member ${m.id} exited ${code} before listening: ${err}`)),
      );
    });
  };
  for (let i = 0; i < size; i++) {
    members.push({
      id: ids[i] as string,
      port: ports[i] as number,
      httpPort: 0,
      proc: null,
      exited: Promise.resolve(0),
      dataDir: join(o.root, ids[i] as string),
      stderr: () => '',
    });
  }
  const byId = (id: string) => {
    const m = members.find((x) => x.id === id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  };
  const cluster: ProcessCluster = {
    members,
    endpoints,
    root: o.root,
    async status(id) {
      const m = byId(id);
      if (!m.proc) return null;
      try {
        const r = await fetch(`http://127.0.0.1:${m.httpPort}/status`, { signal: AbortSignal.timeout(1000) });
        return r.ok ? ((await r.json()) as ServerStatus) : null;
      } catch {
        return null;
      }
    },
    async waitLeader(timeoutMs = 10000, exclude) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const all = await Promise.all(members.map((m) => cluster.status(m.id)));
        const live = all.filter((s): s is ServerStatus => s !== null);
        const leader = live.find((s) => s.role === 'leader' && s.id !== exclude);
        if (leader) {
          const agree = live.filter((s) => s.leaderId === leader.id && s.term === leader.term).length;
          if (agree * 2 > size) return leader;
        }
        await sleep(10);
      }
      throw new Error(`no leader within ${timeoutMs} ms`);
    },
    async stop(id, signal) {
      const m = byId(id);
      m.proc?.kill(signal);
      return await m.exited;
    },
    async restart(id) {
      const m = byId(id);
      if (m.proc) throw new Error(`member ${id} is still running`);
      await spawnMember(m);
    },
    killAll() {
      for (const m of members) m.proc?.kill('SIGKILL');
    },
  };
  try {
    await Promise.all(members.map(spawnMember));
  } catch (e) {
    cluster.killAll();
    throw e;
  }
  return cluster;
}

/** One demo event (also a `--json` line). */
export interface DemoEvent {
  event: string;
  ok: boolean;
  /** Milliseconds since the demo started. */
  t: number;
  [k: string]: unknown;
}

class StepFailed extends Error {}

/** Runs the demo; resolves with the exit code (0 only when every step verified). */
export async function demoMain(argv: string[]): Promise<number> {
  let values: { json?: boolean; keep?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: { json: { type: 'boolean' }, keep: { type: 'boolean' }, help: { type: 'boolean' } },
    }));
  } catch (e) {
    process.stderr.write(
      `consensus demo: ${(e as Error).message}\nusage: consensus demo [--json] [--keep]\n`,
    );
    return 2;
  }
  if (values.help) {
    process.stdout.write('usage: consensus demo [--json] [--keep]\n');
    return 0;
  }
  const json = !!values.json;
  const tty = !json && process.stdout.isTTY === true;
  const c = (code: string, s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
  const t0 = performance.now();
  const now = () => Math.round(performance.now() - t0);
  const events: DemoEvent[] = [];
  const emit = (event: string, ok: boolean, text: string, data: Record<string, unknown> = {}) => {
    const e: DemoEvent = { event, ok, t: now(), ...data };
    events.push(e);
    if (json)
      process.stdout.write(`${JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
    else {
      const ts = c('2', `[${(e.t / 1000).toFixed(3).padStart(7)}s]`);
      const mark = ok ? c('32', '✔') : c('31', '✘');
      process.stdout.write(`${ts} ${mark} ${c('1', event.padEnd(18))} ${text}\n`);
    }
  };
  const say = (text: string) => {
    if (!json) process.stdout.write(`${c('2', `[${(now() / 1000).toFixed(3).padStart(7)}s]`)}   ${text}\n`);
  };
  const check = (cond: boolean, event: string, text: string, data: Record<string, unknown> = {}) => {
    emit(event, cond, text, data);
    if (!cond) throw new StepFailed(`${event}: ${text}`);
  };

  const root = mkdtempSync(join(tmpdir(), 'vibee-demo-'));
  let cluster: ProcessCluster | null = null;
  const clients: Client[] = [];
  const onSignal = () => {
    cluster?.killAll();
    if (!values.keep) rmSync(root, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let ok = false;
  try {
    // --- start + election -------------------------------------------------------------------
    say(`starting 3 members (consensus serve) with data in ${root}`);
    const tStart = performance.now();
    cluster = await startProcessCluster({
      root,
      config: {
        electionTimeoutMinMs: 150,
        electionTimeoutMaxMs: 300,
        heartbeatIntervalMs: 30,
        snapshotInterval: 40,
        // Conflict strategies per key prefix (every member gets the same rules).
        conflictRules: [
          { prefix: 'demo/counters/', strategy: 'merge_function', merge: 'counter' },
          { prefix: 'demo/carts/', strategy: 'application_callback' },
          { prefix: 'demo/strict/', strategy: 'reject' },
        ],
      },
    });
    const cl = cluster;
    const tListening = performance.now();
    emit('cluster_started', true, `3 processes listening on ${cl.endpoints.join(', ')}`, {
      members: cl.members.map((m) => ({ id: m.id, port: m.port, pid: m.proc?.pid })),
      startMs: Math.round(tListening - tStart),
    });
    const leader0 = await cl.waitLeader(10000);
    const electionMs = Math.round(performance.now() - tListening);
    check(
      leader0.role === 'leader' && leader0.term >= 1,
      'election',
      `${leader0.id} elected leader in term ${leader0.term}, ${electionMs} ms after all members listened`,
      { leader: leader0.id, term: leader0.term, ms: electionMs },
    );

    const newClient = async () => {
      const x = await connect({ endpoints: cl.endpoints, timeoutMs: 10000 });
      clients.push(x);
      return x;
    };
    const main = await newClient();

    // --- replication ---------------------------------------------------------------------------
    const N = 50;
    const tRep = performance.now();
    for (let i = 0; i < N; i++) await main.put(`demo/cmd/${i}`, `value-${i}`);
    const repMs = Math.round(performance.now() - tRep);
    const target = (await main.status()).commitIndex;
    const applied: Record<string, number> = {};
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      for (const m of cl.members) applied[m.id] = (await cl.status(m.id))?.appliedIndex ?? 0;
      if (Object.values(applied).every((a) => a >= target)) break;
      await sleep(20);
    }
    const atTarget = Object.values(applied).filter((a) => a >= target).length;
    const back = await main.get(`demo/cmd/${N - 1}`, { consistency: 'linearizable' });
    check(
      atTarget >= 2 && new TextDecoder().decode(back.value ?? new Uint8Array()) === `value-${N - 1}`,
      'replication',
      `${N} commands committed in ${repMs} ms (commit index ${target}); applied index per member: ${Object.entries(
        applied,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
      { commands: N, commitIndex: target, applied, membersAtCommit: atTarget, ms: repMs },
    );

    // --- FIFO locks, fence tokens, stale write ------------------------------------------------
    const [agentA, agentB, agentC] = [await newClient(), await newClient(), await newClient()];
    const guard = new FenceGuard();
    const lockName = 'demo/lock';
    const resource = 'demo/resource';
    const held1 = await agentA.lock(lockName, { ttlMs: 10000 });
    guard.check(resource, held1.fenceToken);
    say(`agent-a holds ${lockName} with fence token ${held1.fenceToken}; agent-b, then agent-c ask for it`);
    const order: string[] = [];
    const pB = agentB.lock(lockName, { ttlMs: 10000 }).then((h) => {
      order.push('agent-b');
      return h;
    });
    await sleep(150);
    const pC = agentC.lock(lockName, { ttlMs: 10000 }).then((h) => {
      order.push('agent-c');
      return h;
    });
    await sleep(150);
    check(order.length === 0, 'lock_exclusive', 'agent-b and agent-c wait while agent-a holds the lock', {});
    await held1.release();
    const heldB = await pB;
    guard.check(resource, heldB.fenceToken);
    await heldB.release();
    const heldC = await pC;
    guard.check(resource, heldC.fenceToken);
    await heldC.release();
    const tokens = [held1.fenceToken, heldB.fenceToken, heldC.fenceToken];
    check(
      order.join(',') === 'agent-b,agent-c' && tokens[0]! < tokens[1]! && tokens[1]! < tokens[2]!,
      'lock_fifo',
      `granted in FIFO order agent-a, ${order.join(', ')} with fence tokens ${tokens.join(' < ')}`,
      { order: ['agent-a', ...order], tokens: tokens.map(String) },
    );
    let refused: CoordinationError | null = null;
    try {
      guard.check(resource, held1.fenceToken);
    } catch (e) {
      if (e instanceof CoordinationError) refused = e;
      else throw e;
    }
    check(
      refused?.code === 'STALE_FENCE_TOKEN',
      'stale_write_refused',
      `agent-a (paused, lock long gone) writes with token ${held1.fenceToken}: refused by the FenceGuard (${refused?.code}; highest seen ${guard.highestSeen(resource)})`,
      { token: String(held1.fenceToken), highest: String(guard.highestSeen(resource)), code: refused?.code },
    );

    // --- barriers ------------------------------------------------------------------------------
    const agentD = await newClient();
    const four = [agentA, agentB, agentC, agentD];
    const tBar = performance.now();
    const full = await Promise.all(
      four.map((a) => a.barrier('demo/barrier', { participants: 4, timeoutMs: 10000 }).arrive()),
    );
    const barMs = Math.round(performance.now() - tBar);
    check(
      full.every((r) => r.outcome === 'satisfied' && r.arrived.length === 4),
      'barrier',
      `4 agents arrive at demo/barrier: released (${full[0]?.outcome}) for all 4 after ${barMs} ms`,
      { participants: 4, outcome: full[0]?.outcome, arrived: full[0]?.arrived.length, ms: barMs },
    );
    const partial = await Promise.all(
      four
        .slice(0, 3)
        .map((a) =>
          a.barrier('demo/partial', { participants: 4, threshold: 0.75, timeoutMs: 10000 }).arrive(),
        ),
    );
    check(
      partial.every((r) => r.outcome === 'satisfied' && r.arrived.length === 3),
      'partial_barrier',
      `threshold 0.75 of 4: released (${partial[0]?.outcome}) when 3 of 4 arrived`,
      { participants: 4, threshold: 0.75, outcome: partial[0]?.outcome, arrived: partial[0]?.arrived.length },
    );

    // --- concurrent writes, version vectors -----------------------------------------------------
    const key = 'demo/doc';
    const base = await agentA.get(key, { consistency: 'linearizable' });
    const [wA, wB] = await Promise.all([
      agentA.put(key, 'written by agent-a', { context: base.context }),
      agentB.put(key, 'written by agent-b', { context: base.context }),
    ]);
    const fin = await agentC.get(key, { consistency: 'linearizable' });
    const counter = (vv: VersionVector, actor: string) =>
      vv.entries.find((e) => e.actor === actor)?.counter ?? 0;
    const advanced = fin.context.entries
      .filter((e) => e.counter > counter(base.context, e.actor))
      .map((e) => e.actor);
    const finalText = new TextDecoder().decode(fin.value ?? new Uint8Array());
    const vvText = (vv: VersionVector) =>
      `{${vv.entries.map((e) => `${e.actor.slice(0, 8)}:${e.counter}`).join(', ')}}`;
    check(
      advanced.length === 2 &&
        ['written by agent-a', 'written by agent-b'].includes(finalText) &&
        fin.siblings.length === 0,
      'concurrent_writes',
      `two writes from the same context ${vvText(base.context)}: neither saw the other (2 actors advanced), so they are concurrent; ` +
        `resolved by last_writer_wins (log order; the default for keys without a rule): "${finalText}", siblings ${fin.siblings.length}, context ${vvText(fin.context)}`,
      {
        strategy: 'last_writer_wins',
        concurrent: true,
        actorsAdvanced: advanced.length,
        winner: finalText,
        siblings: fin.siblings.length,
        contexts: [wA.context, wB.context, fin.context],
      },
    );

    // --- the other strategies, by key prefix (conflictRules in the members' config) ------------
    const concurrentPair = async (k: string, a: string, b: string) => {
      const from = await agentA.get(k, { consistency: 'linearizable' });
      const outcomes = await Promise.allSettled([
        agentA.put(k, a, { context: from.context }),
        agentB.put(k, b, { context: from.context }),
      ]);
      return { outcomes, read: await agentC.get(k, { consistency: 'linearizable' }) };
    };
    const txt = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);
    const merged = await concurrentPair('demo/counters/visits', '{"agent-a":3}', '{"agent-b":4}');
    const mergedValue = txt(merged.read.value);
    const carts = await concurrentPair('demo/carts/42', 'apples', 'pears');
    const cartSiblings = carts.read.siblings.map(txt).sort();
    const strict = await concurrentPair('demo/strict/owner', 'team-a', 'team-b');
    const strictRefused = strict.outcomes.filter((o) => o.status === 'rejected');
    const refusedCode =
      strictRefused[0]?.status === 'rejected'
        ? String((strictRefused[0].reason as { code?: string }).code)
        : '';
    check(
      mergedValue === '{"agent-a":3,"agent-b":4}' &&
        carts.read.value === null &&
        cartSiblings.join(',') === 'apples,pears' &&
        strictRefused.length === 1 &&
        /CONFLICT/.test(refusedCode),
      'conflict_strategies',
      `per prefix: merge_function(counter) merged to ${mergedValue}; application_callback kept siblings [${cartSiblings.join(', ')}] for the reader; reject refused the second write (${refusedCode}) and kept "${txt(strict.read.value)}"`,
      { merged: mergedValue, siblings: cartSiblings, rejectedCode: refusedCode },
    );

    // --- kill -9 the leader --------------------------------------------------------------------
    const before = await cl.waitLeader(5000);
    const victim = before.id;
    const tKill = performance.now();
    const code = await cl.stop(victim, 'SIGKILL');
    await main.put('demo/after-failover', 'committed by the new leader');
    const failMs = Math.round(performance.now() - tKill);
    const after = await cl.waitLeader(5000, victim);
    check(
      code === 137 && after.id !== victim && after.term > before.term,
      'failover',
      `kill -9 of leader ${victim} (term ${before.term}): ${after.id} leads term ${after.term}; a write committed ${failMs} ms after the kill`,
      { killed: victim, newLeader: after.id, term: after.term, ms: failMs },
    );
    await cl.restart(victim);
    const caught = Date.now() + 5000;
    let rejoined: ServerStatus | null = null;
    const want = (await main.status()).commitIndex;
    while (Date.now() < caught) {
      rejoined = await cl.status(victim);
      if (rejoined && rejoined.appliedIndex >= want) break;
      await sleep(20);
    }
    check(
      (rejoined?.appliedIndex ?? 0) >= want,
      'rejoin',
      `${victim} restarted from its data dir and caught up to applied index ${rejoined?.appliedIndex}`,
      { id: victim, appliedIndex: rejoined?.appliedIndex },
    );

    // --- snapshot -------------------------------------------------------------------------------
    let snap: { id: string; snapshotIndex: number; file: string } | null = null;
    const snapDeadline = Date.now() + 5000;
    for (let i = 0; snap === null && Date.now() < snapDeadline; i++) {
      for (const m of cl.members) {
        const s = await cl.status(m.id);
        const files = listFiles(m.dataDir).filter((f) => f.endsWith('.snap'));
        if (s && s.snapshotIndex > 0 && files.length > 0) {
          snap = { id: m.id, snapshotIndex: s.snapshotIndex, file: files[files.length - 1] as string };
          break;
        }
      }
      if (snap === null) {
        await main.put(`demo/fill/${i}`, 'x'); // grow the log past the demo's snapshot interval
      }
    }
    check(
      snap !== null,
      'snapshot',
      snap
        ? `${snap.id} took a snapshot at index ${snap.snapshotIndex} (snapshotInterval 40): ${snap.file.slice(root.length + 1)}`
        : 'no member took a snapshot',
      { ...(snap ?? {}) },
    );

    // --- clean shutdown -------------------------------------------------------------------------
    await Promise.allSettled(clients.map((x) => x.close()));
    clients.length = 0;
    const lead = await cl.waitLeader(5000);
    const codes: Record<string, number> = {};
    codes[lead.id] = await cl.stop(lead.id, 'SIGTERM');
    await Promise.all(
      cl.members
        .filter((m) => m.id !== lead.id)
        .map(async (m) => (codes[m.id] = await cl.stop(m.id, 'SIGTERM'))),
    );
    const free = await Promise.all(cl.members.map((m) => portIsFree(m.port)));
    check(
      Object.values(codes).every((x) => x === 0) && free.every(Boolean),
      'shutdown',
      `SIGTERM (leader ${lead.id} first, it hands over): exit codes ${Object.entries(codes)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}; ports ${free.every(Boolean) ? 'free' : 'STILL BOUND'}`,
      { codes, portsFree: free.every(Boolean) },
    );
    ok = true;
  } catch (e) {
    if (!(e instanceof StepFailed)) emit('error', false, (e as Error).message ?? String(e));
    for (const m of cluster?.members ?? []) {
      const tail = m.stderr().trim().split('\n').slice(-5).join('\n');
      if (tail && !json) process.stderr.write(`--- ${m.id} stderr (tail) ---\n${tail}\n`);
    }
  } finally {
    await Promise.allSettled(clients.map((x) => x.close()));
    cluster?.killAll();
    await Promise.allSettled((cluster?.members ?? []).map((m) => m.exited));
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (values.keep) say(`data kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
  emit('done', ok, ok ? `every step verified in ${(now() / 1000).toFixed(1)} s` : 'a step failed', {
    ms: now(),
    steps: events.length,
  });
  return ok ? 0 : 1;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out.sort();
}
