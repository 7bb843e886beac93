/**
 * A fake leader for request-handler tests: a `RaftNode` whose `propose` applies the envelope at
 * once on a real `DedupStateMachine(createCoordinationReplica())` (as a committed entry would), so
 * the real request handler and clients run over the real dedup table and coordination machine.
 * `setHook` replaces individual proposals (lost, refused, never settling, ...).
 */
import {
  type ClientRequest,
  type ClientResponse,
  type CommandMessage,
  decodeResultMessage,
  encodeCommandMessage,
} from '../../generated/index.js';
import { createCoordinationReplica } from '../../runtime/coordination/codec.js';
import { createRealClock } from '../../runtime/env/real-clock.js';
import type { RaftNode } from '../../runtime/node/node.js';
import { DedupStateMachine, encodeEnvelope, SEQUENCE_EPOCH } from '../../runtime/server/envelope.js';
import { createRequestHandler, type RequestHandlerOptions } from '../../runtime/server/handler.js';

/** Replaces proposal number `n` (1-based) when it returns a promise; null: applied normally. */
export type ProposeHook = (
  bytes: Uint8Array,
  n: number,
) => Promise<{ index: number; term: number; result: unknown }> | null;

export function fakeLeader(extra: Pick<RequestHandlerOptions, 'resolveAddress'> = {}) {
  const replica = createCoordinationReplica();
  const dedup = new DedupStateMachine(replica);
  const clock = createRealClock();
  let index = 1;
  let proposals = 0;
  let hook: ProposeHook | null = null;
  const apply = (bytes: Uint8Array) => {
    index += 1;
    return { index, term: 1, result: dedup.apply(bytes, index) };
  };
  const node = {
    id: 'n1',
    role: 'leader',
    leaderId: 'n1',
    propose(bytes: Uint8Array) {
      const n = ++proposals;
      const h = hook?.(bytes, n);
      if (h) return h;
      return Promise.resolve(apply(bytes));
    },
    read: async () => ({ index }),
    changeMembership: async () => ({ index, term: 1, result: null }),
    transferLeadership() {},
    status: () => ({
      id: 'n1',
      role: 'leader',
      term: 1,
      leaderId: 'n1',
      commitIndex: index,
      appliedIndex: index,
      lastIndex: index,
      snapshotIndex: 0,
      config: { voters: ['n1'], votersOutgoing: [], learners: [], addresses: [] },
      progress: [],
    }),
  } as unknown as RaftNode;
  const handler = createRequestHandler({ node, replica, clock, addressOf: () => null, ...extra });
  let rid = 0;
  /** Applies an enveloped command directly (an entry another leader committed). */
  const applyDirect = (clientId: string, sequence: number, cmd: CommandMessage) =>
    decodeResultMessage(
      apply(encodeEnvelope({ clientId, sequence, command: encodeCommandMessage(cmd) })).result as Uint8Array,
    );
  /** One request of any kind through the real handler (client 'c', sequence 0 unless given). */
  const request = (
    kind: ClientRequest['kind'],
    payload: Uint8Array,
    deadlineMs = 0,
    clientId = 'c',
    sequence = 0,
  ): Promise<ClientResponse> =>
    handler.handle({
      type: 'ClientRequest',
      requestId: ++rid,
      clientId,
      sequence,
      kind,
      consistency: 'linearizable',
      payload,
      deadlineMs,
    });
  /** One command through the real handler. */
  const send = (clientId: string, sequence: number, cmd: CommandMessage, deadlineMs = 0) =>
    request('command', encodeCommandMessage(cmd), deadlineMs, clientId, sequence);
  /**
   * What an InstallSnapshot does to this member: a copy of its state advanced by `cmds` (entries
   * this member never applied) replaces its state through `DedupStateMachine.restore`.
   */
  const installSnapshotWith = (cmds: { clientId: string; sequence: number; cmd: CommandMessage }[]) => {
    const other = new DedupStateMachine(createCoordinationReplica());
    other.restore(dedup.snapshot());
    for (const c of cmds) {
      index += 1;
      other.apply(
        encodeEnvelope({ clientId: c.clientId, sequence: c.sequence, command: encodeCommandMessage(c.cmd) }),
        index,
      );
    }
    dedup.restore(other.snapshot());
  };
  return {
    replica,
    dedup,
    clock,
    node,
    handler,
    applyDirect,
    request,
    send,
    apply,
    installSnapshotWith,
    get index() {
      return index;
    },
    setHook(h: ProposeHook | null) {
      hook = h;
    },
    /** Sequence `n` of a client numbering in epoch 5. */
    seq: (n: number) => 5 * SEQUENCE_EPOCH + n,
  };
}

/** Settles `p` or reports `pending` after `ms` (real time). */
export function within<T>(p: Promise<T>, ms: number): Promise<{ v?: T; e?: unknown; pending?: true }> {
  return Promise.race([
    p.then(
      (v) => ({ v }),
      (e) => ({ e }),
    ),
    new Promise<{ pending: true }>((r) => setTimeout(() => r({ pending: true }), ms)),
  ]);
}
