/**
 * The client protocol's payloads beyond the generated `ClientRequest`/`ClientResponse`:
 * - `kind=command`: payload = encoded `CommandMessage`; reply payload = encoded `CommandResult`.
 * - `kind=read`: payload = an encoded `ReadQuery` (generated): target `kv` -> reply payload =
 *   encoded `CommandResult` (value, siblings, context); `lock` / `barrier` / `election` -> reply
 *   payload = JSON view (bigints as decimal strings, bytes as base64), `null` when unknown.
 * - `kind=status`: reply payload = JSON `ServerStatus`.
 * - `kind=conf_change`: payload = encoded `ConfChange` (generated).
 * - `kind=transfer_leader`: payload = UTF-8 target node id (empty: the most caught-up voter).
 */
import {
  type ClientResponse,
  type ClientResponseStatus,
  encodeQueryMessage,
  type QueryTarget,
} from '../../generated/index.js';

/** Encodes a read query for `kind=read` (see module doc). */
export function encodeReadQuery(target: QueryTarget, name: string): Uint8Array {
  return encodeQueryMessage({ type: 'ReadQuery', target, name });
}

/** What `status` returns (JSON on the wire). */
export interface ServerStatus {
  id: string;
  /** The Raft role, or 'failed' once the member stopped on an error (a failed disk). */
  role: string;
  term: number;
  leaderId: string | null;
  leaderAddress: string | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  /** Requests this member holds open until an event decides them (queued locks, barriers, campaigns). */
  waitingRequests: number;
  /** Times this member, as leader, stepped down because a log save stalled (maxSyncStallMs). */
  syncStalls: number;
  /**
   * For a member started on an empty data dir (with --join, or with the static member list):
   * 'pending', 'ok' or 'lost_log'; else null.
   */
  joinCheck: 'pending' | 'ok' | 'lost_log' | null;
  /**
   * The voters of both halves of a joint configuration (a voter change in progress) and the
   * learners. `joint` marks, while the change is in progress, a voter only in the new half
   * ('incoming': being added) or only in the old one ('outgoing': being removed).
   */
  members: {
    id: string;
    role: 'voter' | 'learner';
    address: string | null;
    match: number | null;
    joint?: 'incoming' | 'outgoing';
  }[];
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Encodes a JSON payload (bigint -> decimal string, Uint8Array -> base64). */
export function jsonPayload(v: unknown): Uint8Array {
  return utf8.encode(
    JSON.stringify(v, (_k, x) =>
      typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x,
    ),
  );
}

/** Decodes a JSON payload. */
export function parseJsonPayload<T>(b: Uint8Array): T {
  return JSON.parse(utf8d.decode(b)) as T;
}

/** A response with defaults for the fields not given. */
export function response(
  requestId: number,
  status: ClientResponseStatus,
  extra: Partial<Omit<ClientResponse, 'type' | 'requestId' | 'status'>> = {},
): ClientResponse {
  return {
    type: 'ClientResponse',
    requestId,
    status,
    leaderId: null,
    leaderAddress: null,
    errorCode: '',
    message: '',
    payload: new Uint8Array(0),
    index: 0,
    ...extra,
  };
}
