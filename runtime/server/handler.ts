/**
 * The server side of the client protocol, independent of the transport: one `ClientRequest` in,
 * one `ClientResponse` out. Used by `startServer` (TCP) and by the embedded client (in-process).
 *
 * Contracts:
 * - Commands go through the log in the exactly-once envelope (`envelope.ts`); a retry of a
 *   (client, sequence) still in flight here joins the first attempt instead of proposing twice.
 * - A LockAcquire that queues, a BarrierArrive that waits and an ElectionCampaign not yet elected
 *   register in the server's WaiterRegistry BEFORE proposing (the granting apply can precede the
 *   proposal's own answer) and are answered with the final outcome, or with status `timeout` when
 *   the request's deadline passes first (the client then cancels the queued request).
 * - Only a member that believes it leads accepts commands, linearizable/lease reads, membership
 *   changes and transfers; others answer `not_leader` with the leader's id and address.
 */
import {
  type ClientRequest,
  type ClientResponse,
  type CommandMessage,
  type CommandResult,
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
import { CoordinationError } from '../coordination/errors.js';
import { errorResult } from '../coordination/state-machine.js';
import { WaiterRegistry } from '../coordination/waiter-registry.js';
import type { Clock } from '../env/types.js';
import { NodeStopped, ProposalDropped, ProposalIndeterminate, type RaftNode } from '../node/node.js';
import { ProposalRejected } from '../raft/errors.js';
import type { TcpNetwork } from '../transport/types.js';
import { encodeEnvelope } from './envelope.js';
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

function okRead(extra: Partial<CommandResult>): CommandResult {
  return { ...errorResult('', ''), ok: true, outcome: 'read', ...extra };
}

/** Creates the handler (see module doc). */
export function createRequestHandler(o: RequestHandlerOptions): RequestHandler {
  const { node, replica, clock } = o;
  const registry = new WaiterRegistry();
  const unsubscribe = replica.machine.onEvent((e) => registry.feed(e));
  const inflight = new Map<string, Promise<ClientResponse>>();
  const closers = new Set<() => void>();
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
      return response(requestId, e.reason === 'backpressure' ? 'busy' : 'rejected', {
        errorCode: e.reason,
        message: e.message,
        leaderId: e.leaderId,
      });
    }
    if (e instanceof ProposalDropped)
      return response(requestId, 'rejected', { errorCode: 'dropped', message: e.message });
    if (e instanceof ProposalIndeterminate || e instanceof NodeStopped)
      return response(requestId, 'indeterminate', {
        errorCode: e instanceof NodeStopped ? 'node_stopped' : 'indeterminate',
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
      const timer = deadlineMs > 0 ? clock.setTimer(deadlineMs, () => finish('deadline')) : null;
      const onClose = () => finish('closed');
      closers.add(onClose);
      function finish(v: 'deadline' | 'closed'): void {
        if (timer !== null) clock.clearTimer(timer);
        closers.delete(onClose);
        resolve(v);
      }
      p.then(
        (v) => {
          if (timer !== null) clock.clearTimer(timer);
          closers.delete(onClose);
          resolve(v);
        },
        (e) => {
          if (timer !== null) clock.clearTimer(timer);
          closers.delete(onClose);
          reject(e);
        },
      );
    });

  type Wait = { promise: Promise<CommandResult>; cancel(): void };

  /** Registers the server-side wait for commands that may not complete at once. */
  function registerWait(cmd: CommandMessage): Wait | null {
    try {
      if (cmd.type === 'LockAcquire' && !cmd.tryOnly) {
        const w = registry.waitLock(cmd.sessionId, cmd.requestId);
        return {
          promise: w.promise.then((g) => ({ ...okRead({}), outcome: 'acquired', fenceToken: g.fenceToken })),
          cancel: w.cancel,
        };
      }
      if (cmd.type === 'BarrierArrive') {
        const w = registry.waitBarrier(cmd.name, cmd.sessionId);
        return {
          promise: w.promise.then((r) => ({
            ...okRead({}),
            outcome: r.outcome,
            arrived: r.arrived,
            epoch: r.generation,
          })),
          cancel: w.cancel,
        };
      }
      if (cmd.type === 'ElectionCampaign') {
        const w = registry.waitLeadership(cmd.name, cmd.sessionId);
        return {
          promise: w.promise.then((l) => ({ ...okRead({}), outcome: 'elected', epoch: l.epoch })),
          cancel: w.cancel,
        };
      }
    } catch {
      // DUPLICATE_REQUEST: an earlier attempt of the same call already waits here; the state
      // check after the proposal (below) covers it.
    }
    return null;
  }

  /** For a retried call whose grant may have happened before this wait was registered. */
  function alreadyDone(cmd: CommandMessage): CommandResult | null {
    const m = replica.machine;
    if (cmd.type === 'LockAcquire') {
      const v = m.lock(cmd.name);
      if (v && v.owner === cmd.sessionId && !v.queue.some((q) => q.requestId === cmd.requestId))
        return { ...okRead({}), outcome: 'acquired', fenceToken: v.fenceToken };
    }
    if (cmd.type === 'ElectionCampaign') {
      const v = m.election(cmd.name);
      if (v && v.leader === cmd.sessionId) return { ...okRead({}), outcome: 'elected', epoch: v.epoch };
    }
    return null;
  }

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
    const wait = registerWait(cmd);
    wait?.promise.catch(() => undefined);
    let res: CommandResult;
    let resBytes: Uint8Array;
    let index: number;
    const endPropose = o.tracing?.proposal(cmd.type);
    try {
      const r = await node.propose(
        encodeEnvelope({ clientId: req.clientId, sequence: req.sequence, command: req.payload }),
      );
      resBytes = r.result as Uint8Array;
      res = decodeResultMessage(resBytes);
      index = r.index;
      endPropose?.({ ok: true, index });
    } catch (e) {
      endPropose?.({ ok: false, detail: e instanceof Error ? e.message : String(e) });
      wait?.cancel();
      return mapError(req.requestId, e);
    }
    const pending =
      res.ok &&
      ((cmd.type === 'LockAcquire' && res.outcome === 'queued') ||
        (cmd.type === 'BarrierArrive' && res.outcome === 'waiting') ||
        (cmd.type === 'ElectionCampaign' && res.outcome !== 'elected'));
    if (!pending) {
      wait?.cancel();
      // The applied result's bytes as they are (decoded above only to look at the outcome).
      return response(req.requestId, 'ok', { payload: resBytes, index });
    }
    const done = alreadyDone(cmd);
    if (done) {
      wait?.cancel();
      return response(req.requestId, 'ok', { payload: encodeResultMessage(done), index });
    }
    if (!wait)
      return response(req.requestId, 'indeterminate', {
        errorCode: 'duplicate_wait',
        message: 'another attempt of this call is already waiting',
      });
    const endWait = cmd.type === 'LockAcquire' ? o.tracing?.lockWait(cmd.name) : undefined;
    try {
      const final = await withDeadline(wait.promise, req.deadlineMs);
      endWait?.(
        typeof final === 'string'
          ? { ok: false, detail: final }
          : { ok: final.outcome === 'acquired', detail: final.errorCode },
      );
      if (final === 'deadline' || final === 'closed') {
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
      return response(req.requestId, 'ok', { payload: encodeResultMessage(final), index });
    } catch (e) {
      endWait?.({ ok: false, detail: e instanceof Error ? e.message : String(e) });
      const err =
        e instanceof CoordinationError
          ? errorResult(e.code, e.message)
          : errorResult('INTERNAL', e instanceof Error ? e.message : String(e));
      return response(req.requestId, 'ok', { payload: encodeResultMessage(err), index });
    }
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
    const addr = (id: string) => s.config.addresses.find((a) => a.id === id)?.address ?? o.addressOf(id);
    const match = (id: string) =>
      id === s.id ? s.lastIndex : (s.progress.find((p) => p.id === id)?.match ?? null);
    const voters = [...new Set([...s.config.voters, ...s.config.votersOutgoing])];
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      leaderId: s.leaderId,
      leaderAddress: s.leaderId ? addr(s.leaderId) : null,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      lastIndex: s.lastIndex,
      snapshotIndex: s.snapshotIndex,
      members: [
        ...voters.map((id) => ({
          id,
          role: 'voter' as const,
          address: addr(id),
          match: s.role === 'leader' ? match(id) : null,
        })),
        ...s.config.learners.map((id) => ({
          id,
          role: 'learner' as const,
          address: addr(id),
          match: s.role === 'leader' ? match(id) : null,
        })),
      ],
    };
  }

  async function transfer(req: ClientRequest): Promise<ClientResponse> {
    const target = utf8d.decode(req.payload) || bestVoter(node);
    if (!target)
      return response(req.requestId, 'rejected', { errorCode: 'no_target', message: 'no other voter' });
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

  async function handle(req: ClientRequest): Promise<ClientResponse> {
    if (closed) return response(req.requestId, 'indeterminate', { errorCode: 'server_closing' });
    if (req.kind === 'status') return response(req.requestId, 'ok', { payload: jsonPayload(status()) });
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
        const r = await node.changeMembership(cc);
        return response(req.requestId, 'ok', { index: r.index });
      } catch (e) {
        return mapError(req.requestId, e);
      }
    }
    // kind=command: join an attempt of the same (client, sequence) still running here.
    const key = `${req.clientId}\u0000${req.sequence}`;
    const running = req.sequence > 0 ? inflight.get(key) : undefined;
    if (running) return { ...(await running), requestId: req.requestId };
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
      for (const c of [...closers]) c();
    },
  };
}

/** The most caught-up other voter (leadership transfers), or null. */
export function bestVoter(node: RaftNode): string | null {
  const s = node.status();
  let best: string | null = null;
  let bestMatch = -1;
  for (const p of s.progress) {
    if (p.id === s.id || !s.config.voters.includes(p.id)) continue;
    if (p.match > bestMatch) {
      best = p.id;
      bestMatch = p.match;
    }
  }
  return best;
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
