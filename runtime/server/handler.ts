/**
 * The server side of the client protocol, independent of the transport: one `ClientRequest` in,
 * one `ClientResponse` out. Used by `startServer` (TCP) and by the embedded client (in-process).
 *
 * Contracts:
 * - Commands go through the log in the exactly-once envelope (`envelope.ts`); a retry of a
 *   (client, sequence) still in flight here joins the first attempt instead of proposing twice.
 * - Every proposal and wait is bounded by the request's deadline (`deadlineMs`): past it the
 *   answer is status `timeout` (the client reports it as indeterminate).
 * - A LockAcquire that queues, a BarrierArrive that waits and an ElectionCampaign not yet elected
 *   wait here and are answered with the final outcome, or with status `timeout` when the request's
 *   deadline passes first (the client then cancels the queued request). The outcome is taken from
 *   the replica's events (settled synchronously in apply order), from a bounded memory of recent
 *   lock and barrier outcomes (a retry whose first attempt's answer was lost), or from the
 *   machine's state, also after an installed snapshot (which emits no events). When none of them
 *   tells any more how a wait ended, the answer is `timeout` with `outcome_unknown`: never a wait
 *   until the deadline for something already decided.
 * - Only a member that believes it leads accepts commands, linearizable/lease reads, membership
 *   changes and transfers; others answer `not_leader` with the leader's id and address.
 */

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  type ClientRequest,
  type ClientResponse,
  type CommandMessage,
  type CommandResult,
  type ConfChange,
  DecodeError,
  decodeClientMessage,
  decodeCommandMessage,
  decodeConfChange,
  decodeQueryMessage,
  decodeResultMessage,
  encodeClientMessage,
  encodeResultMessage,
  type ReadQuery,
} from '../../generated/index.js';
import type { CoordinationReplica } from '../coordination/codec.js';
import { errorResult } from '../coordination/state-machine.js';
import type { CoordinationEvent } from '../coordination/types.js';
import { createDeadlineSet } from '../env/deadline-set.js';
import type { Clock } from '../env/types.js';
import { NodeStopped, ProposalDropped, ProposalIndeterminate, type RaftNode } from '../node/node.js';
import { ProposalRejected, type RejectReason } from '../raft/errors.js';
import { parseEndpoint } from '../transport/socket-util.js';
import type { TcpNetwork } from '../transport/types.js';
import { type DecodedProposals, encodeEnvelope, onInnerRestored } from './envelope.js';
import { jsonPayload, response, type ServerStatus } from './protocol.js';
import type { ServerTracing } from './tracing.js';

/** Options of `createRequestHandler`. */
export interface RequestHandlerOptions {
  node: RaftNode;
  replica: CoordinationReplica;
  clock: Clock;
  /** Client address of a member (for `not_leader` redirects), or null when unknown. */
  addressOf(id: string): string | null;
  /** Spans for proposals and lock waits (no-op without an OpenTelemetry SDK). */
  tracing?: ServerTracing;
  /**
   * Called before a membership change that names an address is proposed, so that the transport
   * can reach a new member before the leader's first append to it (else that append is dropped,
   * and the newcomer first hears from the leader only after its addition has committed).
   */
  beforeConfChange?(cc: ConfChange): void;
  /**
   * Resolves a 'host:port' to its IP addresses and port (null: unknown), so that a member cannot be
   * added at another's address spelled differently. Without it only the spelling is compared (the
   * simulator and embedded nodes do no DNS).
   */
  resolveAddress?(address: string): Promise<{ ips: string[]; port: number } | null>;
  /**
   * The state machine's memo of decoded proposals (`DedupStateMachine`): the handler leaves each
   * client command it decoded there, so the leader's apply does not decode it again.
   */
  decodedProposals?: DecodedProposals;
}

/** The request handler (see module doc). */
export interface RequestHandler {
  handle(req: ClientRequest): Promise<ClientResponse>;
  /** Server status as reported to clients. */
  status(): ServerStatus;
  /** Ends every pending server-side wait (their requests are answered `indeterminate`). */
  close(): void;
}

const utf8d = new TextDecoder();

/** Decided lock requests and barrier arrivals remembered for late retries (per handler). */
const RECENT_OUTCOMES_MAX = 4096;

/**
 * Commands only the leader's own duties commit (`leader-duties.ts`), under the internal envelope
 * (client id '', sequence 0): from a client, a TimeAdvance could expire every session and lock at
 * once, and a KvCompact could drop tombstones a member still needs.
 */
const LEADER_ONLY_COMMANDS: ReadonlySet<CommandMessage['type']> = new Set([
  'TimeAdvance',
  'SessionExpire',
  'KvCompact',
]);

/**
 * Core refusals answered `busy` (the client retries within its deadline): they end by themselves
 * and applied nothing. Every other refusal is final.
 */
const TRANSIENT_REFUSALS: ReadonlySet<RejectReason> = new Set([
  'backpressure',
  'not_committed_in_term',
  'transfer_in_progress',
  'voters_not_heard',
]);

function okRead(extra: Partial<CommandResult>): CommandResult {
  return { ...errorResult('', ''), ok: true, outcome: 'read', ...extra };
}

/** Creates the handler (see module doc). */
export function createRequestHandler(o: RequestHandlerOptions): RequestHandler {
  const { node, replica, clock } = o;
  // Only a command the replica would decode the same way may skip its decoding at apply.
  const rememberDecoded = replica.codec.decodeCommand === decodeCommandMessage;
  const inflight = new Map<string, Promise<ClientResponse>>();
  /**
   * Request deadlines, and what `close` ends ('closed'). Unref'd: a pending request always has its
   * node's timers and sockets keeping the process up, and the set's timer outlives the requests it
   * was armed for.
   */
  const deadlines = createDeadlineSet(clock, { unref: true });
  let closed = false;

  const notLeader = (requestId: number): ClientResponse => {
    const leaderId = node.leaderId;
    return response(requestId, 'not_leader', {
      leaderId,
      leaderAddress: leaderId ? o.addressOf(leaderId) : null,
      message: `${node.id} is not the leader`,
    });
  };

  const mapError = (requestId: number, e: unknown): ClientResponse => {
    if (e instanceof ProposalRejected) {
      if (e.reason === 'not_leader') return notLeader(requestId);
      // Transient, retried like backpressure rather than reported as a refusal (nothing applied):
      // a new leader commits its first entry within a round trip (Raft §8), and a leadership
      // transfer ends within an election timeout (the member then redirects to the new leader).
      const transient = TRANSIENT_REFUSALS.has(e.reason);
      return response(requestId, transient ? 'busy' : 'rejected', {
        errorCode: e.reason,
        message: e.message,
        leaderId: e.leaderId,
      });
    }
    if (e instanceof ProposalDropped)
      return response(requestId, 'rejected', { errorCode: 'dropped', message: e.message });
    if (e instanceof ProposalIndeterminate || e instanceof NodeStopped)
      return response(requestId, 'indeterminate', {
        errorCode:
          e instanceof NodeStopped
            ? 'node_stopped'
            : e.reason === 'leadership_lost'
              ? 'leadership_lost'
              : 'indeterminate',
        message: e.message,
      });
    return response(requestId, 'error', {
      errorCode: 'internal',
      message: e instanceof Error ? e.message : String(e),
    });
  };

  /** Races `p` against the request deadline (0: none) and the handler's close. */
  const withDeadline = <T>(p: Promise<T>, deadlineMs: number): Promise<T | 'deadline' | 'closed'> =>
    new Promise((resolve, reject) => {
      const d = deadlines.add(deadlineMs > 0 ? clock.now() + deadlineMs : Number.POSITIVE_INFINITY, () =>
        resolve(closed ? 'closed' : 'deadline'),
      );
      p.then(
        (v) => {
          deadlines.remove(d);
          resolve(v);
        },
        (e) => {
          deadlines.remove(d);
          reject(e);
        },
      );
    });

  /**
   * Server-side waits. A wait is keyed by what decides it: `L|session|requestId` (a queued lock
   * request), `B|name|session|generation` (an arrival at one barrier generation), `E|name|session`
   * (a campaign). Every decisive event of the local replica settles the waits of its key at once
   * (synchronously, in apply order), and for locks and barriers is also remembered in `recent`
   * (bounded), so a retry that comes after the event (its first attempt's answer was lost) still
   * learns the outcome. What neither a wait nor `recent` saw is read from the machine's state
   * (`check`); when the state no longer tells (the request left the queue, a newer barrier
   * generation, ...), the answer is `timeout`/`outcome_unknown` (indeterminate for the client),
   * never a wait until the request deadline. An installed snapshot applies nothing and so emits no
   * event: after each restore every pending wait is checked again (`recheckAll`).
   */
  type WaitOutcome = { result: CommandResult } | { unknown: string };
  interface PendingWait {
    key: string;
    cmd: CommandMessage;
    /** The barrier generation the arrival joined (BarrierArrive), else 0n. */
    generation: bigint;
    /** Set (synchronously) when settled. */
    outcome: WaitOutcome | null;
    promise: Promise<WaitOutcome>;
    settle(o: WaitOutcome): void;
    cancel(): void;
  }
  const waits = new Map<string, Set<PendingWait>>();
  /** Pending waits over all keys (a key may hold several: retries of one request). */
  let waitingCount = 0;
  const recent = new Map<string, CommandResult>();
  const lockKey = (sessionId: string, requestId: string) => `L\u0000${sessionId}\u0000${requestId}`;
  const barrierKey = (name: string, sessionId: string, generation: bigint) =>
    `B\u0000${name}\u0000${sessionId}\u0000${generation}`;
  const electionKey = (name: string, sessionId: string) => `E\u0000${name}\u0000${sessionId}`;

  function addWait(key: string, cmd: CommandMessage, generation: bigint): PendingWait {
    let resolve!: (o: WaitOutcome) => void;
    const promise = new Promise<WaitOutcome>((r) => {
      resolve = r;
    });
    const w: PendingWait = {
      key,
      cmd,
      generation,
      outcome: null,
      promise,
      settle(o) {
        if (w.outcome) return;
        w.outcome = o;
        w.cancel();
        resolve(o);
      },
      cancel() {
        const set = waits.get(key);
        if (!set?.delete(w)) return;
        waitingCount--;
        if (set.size === 0) waits.delete(key);
      },
    };
    let set = waits.get(key);
    if (!set) {
      set = new Set();
      waits.set(key, set);
    }
    set.add(w);
    waitingCount++;
    return w;
  }

  /** Settles the waits of `key` with `result`; remembers it for later retries when `remember`. */
  function decided(key: string, result: CommandResult, remember: boolean): void {
    if (remember) {
      recent.delete(key);
      recent.set(key, result);
      while (recent.size > RECENT_OUTCOMES_MAX) recent.delete(recent.keys().next().value as string);
    }
    const set = waits.get(key);
    if (set) for (const w of [...set]) w.settle({ result });
  }

  function onMachineEvent(e: CoordinationEvent): void {
    switch (e.kind) {
      case 'lock_granted':
        decided(
          lockKey(e.sessionId, e.requestId),
          { ...okRead({}), outcome: 'acquired', fenceToken: e.fenceToken },
          true,
        );
        break;
      case 'lock_wait_ended': {
        const code =
          e.reason === 'wait_timeout'
            ? 'LOCK_WAIT_TIMEOUT'
            : e.reason === 'cancelled'
              ? 'LOCK_WAIT_CANCELLED'
              : 'SESSION_LOST';
        decided(
          lockKey(e.sessionId, e.requestId),
          errorResult(code, `waiting for lock "${e.name}" ended: ${e.reason}`),
          true,
        );
        break;
      }
      case 'barrier_released': {
        const result = { ...okRead({}), outcome: e.outcome, arrived: e.arrived, epoch: e.generation };
        for (const s of e.arrived) decided(barrierKey(e.name, s, e.generation), result, true);
        break;
      }
      case 'barrier_wait_cancelled': {
        // The session left (its arrival ends as cancelled for it), or it was lost.
        decided(
          barrierKey(e.name, e.sessionId, e.generation),
          e.reason === 'left'
            ? { ...okRead({}), outcome: 'cancelled', arrived: e.arrived, epoch: e.generation }
            : errorResult('SESSION_LOST', `arrival at barrier "${e.name}" cancelled: session lost`),
          true,
        );
        break;
      }
      // A session campaigns in one election more than once over time: not remembered, only settled.
      case 'election_leader':
        if (e.sessionId !== null)
          decided(
            electionKey(e.name, e.sessionId),
            { ...okRead({}), outcome: 'elected', epoch: e.epoch },
            false,
          );
        break;
      case 'campaign_aborted':
        decided(
          electionKey(e.name, e.sessionId),
          errorResult(
            e.reason === 'session_lost' ? 'SESSION_LOST' : 'CAMPAIGN_WITHDRAWN',
            `campaign in election "${e.name}" aborted: ${e.reason}`,
          ),
          false,
        );
        break;
      default:
        break;
    }
  }

  /**
   * What decides a pending command now, from `recent` and the machine's state: a final outcome,
   * `wait` (still queued or waiting), or unknown (decided in a way this member no longer knows).
   */
  function check(cmd: CommandMessage, generation: bigint): WaitOutcome | 'wait' {
    const m = replica.machine;
    if (cmd.type === 'LockAcquire') {
      const seen = recent.get(lockKey(cmd.sessionId, cmd.requestId));
      if (seen) return { result: seen };
      const v = m.lock(cmd.name);
      if (v?.queue.some((q) => q.sessionId === cmd.sessionId && q.requestId === cmd.requestId)) return 'wait';
      if (v && v.owner === cmd.sessionId)
        return { result: { ...okRead({}), outcome: 'acquired', fenceToken: v.fenceToken } };
      return {
        unknown: `lock request ${cmd.requestId} on "${cmd.name}" is no longer queued and its grant is not known here`,
      };
    }
    if (cmd.type === 'BarrierArrive') {
      // The machine first: a session that left and arrived again in the same generation is
      // waiting again, whatever `recent` remembers of its leave.
      const v = m.barrier(cmd.name);
      const here = v !== null && v.generation === generation && v.arrived.includes(cmd.sessionId);
      if (here && v.state === 'waiting') return 'wait';
      const seen = recent.get(barrierKey(cmd.name, cmd.sessionId, generation));
      if (seen) return { result: seen };
      if (here) return { result: { ...okRead({}), outcome: v.state, arrived: v.arrived, epoch: generation } };
      return { unknown: `barrier "${cmd.name}" generation ${generation} ended in a way not known here` };
    }
    if (cmd.type === 'ElectionCampaign') {
      const v = m.election(cmd.name);
      if (v?.leader === cmd.sessionId)
        return { result: { ...okRead({}), outcome: 'elected', epoch: v.epoch } };
      if (v?.candidates.includes(cmd.sessionId)) return 'wait';
      return { unknown: `the campaign of ${cmd.sessionId} in "${cmd.name}" ended in a way not known here` };
    }
    return { unknown: `${cmd.type} does not wait` };
  }

  /** After an installed snapshot (no events): settles every pending wait its state decides. */
  function recheckAll(): void {
    for (const set of [...waits.values()])
      for (const w of [...set]) {
        if (w.outcome) continue;
        const now = check(w.cmd, w.generation);
        if (now !== 'wait') w.settle(now);
      }
  }

  const unsubscribe = replica.machine.onEvent(onMachineEvent);
  const unsubscribeRestore = onInnerRestored(replica, recheckAll);

  const answer = (requestId: number, o: WaitOutcome, index: number): ClientResponse =>
    'result' in o
      ? response(requestId, 'ok', { payload: encodeResultMessage(o.result), index })
      : response(requestId, 'timeout', { errorCode: 'outcome_unknown', message: o.unknown, index });

  async function command(req: ClientRequest): Promise<ClientResponse> {
    let cmd: CommandMessage;
    try {
      cmd = decodeCommandMessage(req.payload);
    } catch (e) {
      return response(req.requestId, 'error', {
        errorCode: 'DECODE_ERROR',
        message: e instanceof DecodeError ? e.message : String(e),
      });
    }
    if (LEADER_ONLY_COMMANDS.has(cmd.type) || req.clientId === '')
      return response(req.requestId, 'error', {
        errorCode: 'INVALID_ARGUMENT',
        message:
          req.clientId === ''
            ? 'a client id must not be empty (the empty id marks the leader’s own commands)'
            : `${cmd.type} is committed by the leader itself, never by a client`,
      });
    // A campaign registers before proposing: its election can be decided before the proposal's own
    // answer, and is not remembered in `recent`. Locks and barriers are (see `check`).
    const until = clock.now() + req.deadlineMs;
    const early =
      cmd.type === 'ElectionCampaign' ? addWait(electionKey(cmd.name, cmd.sessionId), cmd, 0n) : null;
    // Only these can be answered later than applied; other results go back as they are, undecoded.
    const mayWait =
      cmd.type === 'LockAcquire' || cmd.type === 'BarrierArrive' || cmd.type === 'ElectionCampaign';
    let res: CommandResult | null;
    let resBytes: Uint8Array;
    let index: number;
    const endPropose = o.tracing?.proposal(cmd.type);
    try {
      const envelope = { clientId: req.clientId, sequence: req.sequence, command: req.payload };
      const entry = encodeEnvelope(envelope);
      if (rememberDecoded) o.decodedProposals?.rememberDecoded(entry, envelope, cmd);
      const r = await withDeadline(node.propose(entry), req.deadlineMs);
      if (r === 'deadline' || r === 'closed') {
        endPropose?.({ ok: false, detail: r });
        early?.cancel();
        return r === 'deadline'
          ? response(req.requestId, 'timeout', {
              errorCode: 'propose_deadline',
              message: 'the request deadline passed before the command was applied; it may still apply',
            })
          : response(req.requestId, 'indeterminate', {
              errorCode: 'server_closing',
              message: 'the server is shutting down',
            });
      }
      resBytes = r.result as Uint8Array;
      res = mayWait ? decodeResultMessage(resBytes) : null;
      index = r.index;
      endPropose?.({ ok: true, index });
    } catch (e) {
      endPropose?.({ ok: false, detail: e instanceof Error ? e.message : String(e) });
      early?.cancel();
      return mapError(req.requestId, e);
    }
    const pending =
      res?.ok === true &&
      ((cmd.type === 'LockAcquire' && !cmd.tryOnly && res.outcome === 'queued') ||
        (cmd.type === 'BarrierArrive' && res.outcome === 'waiting') ||
        (cmd.type === 'ElectionCampaign' && res.outcome !== 'elected'));
    if (!pending || res === null) {
      early?.cancel();
      // The applied result's bytes as they are (decoded above, if at all, only for the outcome).
      return response(req.requestId, 'ok', { payload: resBytes, index });
    }
    // The barrier generation this arrival joined (the result's epoch; cached for a retry).
    const generation = cmd.type === 'BarrierArrive' ? res.epoch : 0n;
    if (early?.outcome) return answer(req.requestId, early.outcome, index);
    const now = check(cmd, generation);
    if (now !== 'wait') {
      early?.cancel();
      return answer(req.requestId, now, index);
    }
    // Nothing runs between `check` and this registration: no event can fall in between.
    const wait =
      early ??
      addWait(
        cmd.type === 'LockAcquire'
          ? lockKey(cmd.sessionId, cmd.requestId)
          : barrierKey((cmd as { name: string }).name, (cmd as { sessionId: string }).sessionId, generation),
        cmd,
        generation,
      );
    const endWait = cmd.type === 'LockAcquire' ? o.tracing?.lockWait(cmd.name) : undefined;
    // What is left of the request's deadline after the proposal (0: none; at least 1 ms otherwise).
    const left = req.deadlineMs > 0 ? Math.max(1, until - clock.now()) : 0;
    const final = await withDeadline(wait.promise, left);
    if (final === 'deadline' || final === 'closed') {
      endWait?.({ ok: false, detail: final });
      wait.cancel();
      return response(req.requestId, final === 'deadline' ? 'timeout' : 'indeterminate', {
        errorCode: final === 'deadline' ? 'wait_deadline' : 'server_closing',
        message:
          final === 'deadline'
            ? 'the request deadline passed while waiting; the request is still queued'
            : 'the server is shutting down',
        index,
      });
    }
    endWait?.(
      'result' in final
        ? { ok: final.result.outcome === 'acquired', detail: final.result.errorCode }
        : { ok: false, detail: 'outcome_unknown' },
    );
    return answer(req.requestId, final, index);
  }

  async function read(req: ClientRequest): Promise<ClientResponse> {
    let q: ReadQuery;
    try {
      q = decodeQueryMessage(req.payload);
    } catch (e) {
      return response(req.requestId, 'error', {
        errorCode: 'DECODE_ERROR',
        message: `bad query: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
    let index: number;
    try {
      ({ index } = await node.read(req.consistency));
    } catch (e) {
      return mapError(req.requestId, e);
    }
    const m = replica.machine;
    let payload: Uint8Array;
    switch (q.target) {
      case 'kv': {
        const r = m.kvGet(q.name);
        payload = encodeResultMessage(okRead({ value: r.value, siblings: r.siblings, context: r.context }));
        break;
      }
      case 'lock':
        payload = jsonPayload(m.lock(q.name));
        break;
      case 'barrier':
        payload = jsonPayload(m.barrier(q.name));
        break;
      case 'election':
        payload = jsonPayload(m.election(q.name));
        break;
    }
    return response(req.requestId, 'ok', { payload, index });
  }

  function status(): ServerStatus {
    const s = node.status();
    const addr = (id: string) => memberAddress(s, id);
    const match = (id: string) =>
      id === s.id ? s.lastIndex : (s.progress.find((p) => p.id === id)?.match ?? null);
    const voters = [...new Set([...s.config.voters, ...s.config.votersOutgoing])];
    const failed = !!node.error;
    return {
      id: s.id,
      role: failed ? 'failed' : s.role,
      term: s.term,
      leaderId: failed ? null : s.leaderId,
      leaderAddress: !failed && s.leaderId ? addr(s.leaderId) : null,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      lastIndex: s.lastIndex,
      snapshotIndex: s.snapshotIndex,
      waitingRequests: waitingCount,
      syncStalls: s.syncStalls,
      joinCheck: s.joinCheck,
      members: [
        ...voters.map((id) => {
          const joint = jointSide(s.config, id);
          return {
            id,
            role: 'voter' as const,
            address: addr(id),
            match: s.role === 'leader' ? match(id) : null,
            ...(joint ? { joint } : {}),
          };
        }),
        ...s.config.learners.map((id) => ({
          id,
          role: 'learner' as const,
          address: addr(id),
          match: s.role === 'leader' ? match(id) : null,
        })),
      ],
    };
  }

  /** Member `id`'s client address: the configuration's, else `addressOf`'s (static peers). */
  function memberAddress(s: ReturnType<RaftNode['status']>, id: string): string | null {
    return s.config.addresses.find((a) => a.id === id)?.address ?? o.addressOf(id);
  }

  /**
   * The member other than `id` that listens on `address`, or null. (Adding a member at another's
   * address is accepted by Raft, but that member then refuses every connection meant for the new
   * one, and logs it, until the entry is removed.)
   */
  function memberAt(address: string, id: string): string | null {
    const s = node.status();
    for (const m of [...s.config.voters, ...s.config.votersOutgoing, ...s.config.learners]) {
      if (m === id) continue;
      if (memberAddress(s, m) === address) return m;
    }
    return null;
  }

  /**
   * `memberAt`, also across spellings of one endpoint ('localhost:7001' and '127.0.0.1:7001'): a
   * review added a member at another's address spelled differently, and it never caught up.
   */
  async function memberAtResolved(address: string, id: string): Promise<string | null> {
    const direct = memberAt(address, id);
    if (direct !== null) return direct;
    const resolve = o.resolveAddress;
    const want = resolve ? await resolve(address) : null;
    if (!resolve || !want) return null;
    const s = node.status();
    for (const m of [...s.config.voters, ...s.config.votersOutgoing, ...s.config.learners]) {
      const a = m === id ? null : memberAddress(s, m);
      const got = a ? await resolve(a) : null;
      if (got && got.port === want.port && got.ips.some((ip) => want.ips.includes(ip))) return m;
    }
    return null;
  }

  async function transfer(req: ClientRequest): Promise<ClientResponse> {
    const target = utf8d.decode(req.payload) || bestVoter(node);
    if (!target)
      return response(req.requestId, 'rejected', {
        errorCode: 'no_target',
        message: 'no other voter has been heard from within an election timeout',
      });
    // Already there: nothing to hand over (the core ignores a transfer to itself).
    if (target === node.id && node.role === 'leader')
      return response(req.requestId, 'ok', { leaderId: target, leaderAddress: o.addressOf(target) });
    try {
      node.transferLeadership(target);
    } catch (e) {
      return mapError(req.requestId, e);
    }
    const deadline = clock.now() + (req.deadlineMs || 5000);
    while (clock.now() < deadline && !closed) {
      const s = node.status();
      if (s.role !== 'leader' && s.leaderId !== null && s.leaderId !== node.id) break;
      await new Promise<void>((r) => clock.setTimer(20, r));
    }
    const s = node.status();
    if (s.leaderId === target)
      return response(req.requestId, 'ok', { leaderId: target, leaderAddress: o.addressOf(target) });
    return response(req.requestId, 'timeout', {
      errorCode: 'transfer_incomplete',
      message: `leadership is with ${s.leaderId ?? 'nobody'}, not ${target}`,
      leaderId: s.leaderId,
    });
  }

  /**
   * A command to a running leader, the common case, goes straight to `commandOnce`: through
   * `handleAny`, an async function returning a promise, its response settled three microtask turns
   * later, and a put's reply waited for them behind the node's Ready loop.
   */
  function handle(req: ClientRequest): Promise<ClientResponse> {
    if (req.kind === 'command' && !closed && !node.error && node.role === 'leader') return commandOnce(req);
    return handleAny(req);
  }

  async function handleAny(req: ClientRequest): Promise<ClientResponse> {
    if (closed) return response(req.requestId, 'indeterminate', { errorCode: 'server_closing' });
    if (req.kind === 'status') return response(req.requestId, 'ok', { payload: jsonPayload(status()) });
    // A member stopped on an error (a failed disk) appended nothing for this request: like a
    // follower that knows no leader, so the client tries the other members.
    if (node.error)
      return response(req.requestId, 'not_leader', {
        leaderId: null,
        leaderAddress: null,
        message: `${node.id} stopped on an error and serves nothing: ${String(node.error)}`,
      });
    const leader = node.role === 'leader';
    if (req.kind === 'read') {
      if (req.consistency !== 'stale' && !leader) return notLeader(req.requestId);
      return read(req);
    }
    if (!leader) return notLeader(req.requestId);
    if (req.kind === 'transfer_leader') return transfer(req);
    if (req.kind === 'conf_change') {
      try {
        const cc = decodeConfChange(req.payload);
        if (cc.changeType === 'remove_node' && cc.nodeId === node.id) {
          // Removing the leader: hand over first. Else it steps down once the change commits with
          // no successor, and the cluster waits an election timeout; the client re-sends the
          // removal to the new leader (nothing was proposed here).
          const target = bestVoter(node);
          if (target) await handOver(node, clock, target, 3000);
          if (node.role !== 'leader') return notLeader(req.requestId);
        }
        const taken = cc.address ? await memberAtResolved(cc.address, cc.nodeId) : null;
        if (taken !== null)
          return response(req.requestId, 'rejected', {
            errorCode: 'conf_change_invalid',
            message: `${cc.address} is the address of member ${taken}, not of a new member ${cc.nodeId}`,
          });
        o.beforeConfChange?.(cc);
        const r = await withDeadline(node.changeMembership(cc), req.deadlineMs);
        if (r === 'deadline' || r === 'closed')
          return response(req.requestId, r === 'deadline' ? 'timeout' : 'indeterminate', {
            errorCode: r === 'deadline' ? 'conf_change_deadline' : 'server_closing',
            message: 'no outcome before the request deadline; the change may still apply',
          });
        return response(req.requestId, 'ok', { index: r.index });
      } catch (e) {
        return mapError(req.requestId, e);
      }
    }
    return commandOnce(req);
  }

  /** kind=command on the leader: joins an attempt of the same (client, sequence) still running here. */
  function commandOnce(req: ClientRequest): Promise<ClientResponse> {
    const key = `${req.clientId}\u0000${req.sequence}`;
    const running = req.sequence > 0 ? inflight.get(key) : undefined;
    if (running) return running.then((r) => ({ ...r, requestId: req.requestId }));
    const p = command(req);
    if (req.sequence > 0) {
      inflight.set(key, p);
      void p.finally(() => inflight.delete(key));
    }
    return p;
  }

  return {
    handle,
    status,
    close() {
      closed = true;
      unsubscribe();
      unsubscribeRestore();
      deadlines.expireAll();
    },
  };
}

/**
 * The most caught-up other voter heard from within an election timeout (leadership transfers), or
 * null. A voter that is down would take the TimeoutNow to nobody: the leader would refuse writes
 * for the transfer's duration, then the cluster would wait an election timeout more.
 */
export function bestVoter(node: RaftNode): string | null {
  const s = node.status();
  let best: string | null = null;
  let bestMatch = -1;
  for (const p of s.progress) {
    if (p.id === s.id || !s.config.voters.includes(p.id) || !p.live) continue;
    if (p.match > bestMatch) {
      best = p.id;
      bestMatch = p.match;
    }
  }
  return best;
}

/** How long `resolveEndpoint` waits for the resolver. */
const RESOLVE_TIMEOUT_MS = 1000;

/**
 * The IP addresses and port of a 'host:port' endpoint, or null when it cannot be parsed or
 * resolved within RESOLVE_TIMEOUT_MS (then only its spelling can be compared). For servers on real
 * I/O (`RequestHandlerOptions.resolveAddress`).
 */
export async function resolveEndpoint(address: string): Promise<{ ips: string[]; port: number } | null> {
  let ep: { host: string; port: number };
  try {
    ep = parseEndpoint(address);
  } catch {
    return null;
  }
  if (isIP(ep.host)) return { ips: [ep.host], port: ep.port };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((r) => {
    timer = setTimeout(() => r(null), RESOLVE_TIMEOUT_MS);
  });
  const resolved = lookup(ep.host, { all: true }).then(
    (all) => ({ ips: all.map((a) => a.address), port: ep.port }),
    () => null,
  );
  try {
    return await Promise.race([resolved, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Hands leadership to `target` and waits until this member no longer leads, the core gave the
 * transfer up (its own bound, an election timeout), or `maxMs` passed. Throws what
 * `transferLeadership` throws.
 */
export async function handOver(node: RaftNode, clock: Clock, target: string, maxMs: number): Promise<void> {
  node.transferLeadership(target);
  const deadline = clock.now() + maxMs;
  while (clock.now() < deadline) {
    const s = node.status();
    if (s.role !== 'leader' || s.transferee !== target) return;
    await new Promise<void>((r) => clock.setTimer(10, r));
  }
}

/** A member's address: from the configuration (conf changes carry it), else from `known`. */
export function addressResolver(
  node: RaftNode,
  known: Record<string, string>,
): (id: string) => string | null {
  return (id) => node.status().config.addresses.find((a) => a.id === id)?.address ?? known[id] ?? null;
}

/**
 * Serves the client protocol of `network` with `handler`: decodes each request (a malformed one is
 * answered DECODE_ERROR, reported to `onMalformed`, and its connection closed by the transport),
 * answers with the handler's response (or `internal` if it threw).
 */
export function serveClientProtocol(
  network: Pick<TcpNetwork, 'onClientRequest'>,
  handler: RequestHandler,
  hooks: { onMalformed?(clientId: string, err: unknown): void } = {},
): void {
  network.onClientRequest((clientId, frame, reply) => {
    let req: ClientRequest;
    try {
      const m = decodeClientMessage(frame);
      if (m.type !== 'ClientRequest') throw new Error('expected a ClientRequest');
      req = m;
    } catch (e) {
      hooks.onMalformed?.(clientId, e);
      // Answered (so a client can tell why), then the transport closes the connection and counts it.
      reply(encodeClientMessage(response(0, 'error', { errorCode: 'DECODE_ERROR', message: String(e) })));
      return false;
    }
    handler.handle(req).then(
      (res) => reply(encodeClientMessage(res)),
      (e) =>
        reply(
          encodeClientMessage(
            response(req.requestId, 'error', { errorCode: 'internal', message: String(e) }),
          ),
        ),
    );
  });
}

/**
 * Where voter `id` stands in a joint configuration (`ServerStatus.members[].joint`): only in the new
 * half ('incoming'), only in the old one ('outgoing'), or in both or no change in progress
 * (undefined).
 */
export function jointSide(
  config: { voters: readonly string[]; votersOutgoing: readonly string[] },
  id: string,
): 'incoming' | 'outgoing' | undefined {
  if (config.votersOutgoing.length === 0) return undefined;
  const inNew = config.voters.includes(id);
  const inOld = config.votersOutgoing.includes(id);
  if (inNew && !inOld) return 'incoming';
  if (inOld && !inNew) return 'outgoing';
  return undefined;
}
