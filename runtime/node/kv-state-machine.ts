/**
 * The replicated state machine interface and a small default key-value machine.
 * `apply` must be deterministic: every member applies the same commands in the same order and must
 * reach the same state (and return the same result).
 */
import { joinParts } from '../wire/parts.js';

export interface StateMachine {
  /** Applies one committed command at log index `index`; the result goes back to the proposer. */
  apply(command: Uint8Array, index: number): unknown;
  /** Serialises the whole state (taken every SNAPSHOT_INTERVAL applied entries). */
  snapshot(): Uint8Array;
  /**
   * Optional: the bytes of `snapshot()`, produced in steps so that a large state does not block
   * the event loop while it is serialised. The call itself captures the state as it is now
   * (cheaply: e.g. an array of references to records that `apply` replaces rather than mutates);
   * each `next()` then serialises a bounded slice, and the last returns `{ done: true, value }`.
   * Later `apply` calls run between the steps and must not change the result. When present, the
   * node uses it for its periodic snapshots and yields to the event loop between steps.
   */
  snapshotSteps?(): Iterator<void, Uint8Array, void>;
  /** Replaces the whole state by a snapshot's bytes. */
  restore(snapshot: Uint8Array): void;
  /**
   * Optional: `restore` in steps, for a large snapshot installed from the leader. Each `next()`
   * decodes a bounded slice; the state is replaced by the last one (until then the machine keeps
   * its old state). The node lets the event loop run between the steps and applies nothing
   * meanwhile. A malformed snapshot throws from a step.
   */
  restoreSteps?(snapshot: Uint8Array): Iterator<void, void, void>;
}

/** Runs a `snapshotSteps()` iterator to its end and returns the bytes. */
export function drainSnapshotSteps(steps: Iterator<void, Uint8Array, void>): Uint8Array {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** A command of the default KV machine. */
export type KvCommand = { op: 'put'; key: string; value: string } | { op: 'delete'; key: string };

/** Encodes a KV command for `propose`. */
export function encodeKvCommand(c: KvCommand): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(c));
}

/** The default state machine: string keys and values; `put` returns the previous value or null. */
export class KvStateMachine implements StateMachine {
  readonly data = new Map<string, string>();

  apply(command: Uint8Array, _index: number): unknown {
    let c: KvCommand;
    try {
      c = JSON.parse(new TextDecoder().decode(command)) as KvCommand;
    } catch {
      return { error: 'malformed command' };
    }
    if (c.op === 'put') {
      const prev = this.data.get(c.key) ?? null;
      this.data.set(c.key, c.value);
      return prev;
    }
    if (c.op === 'delete') {
      const had = this.data.delete(c.key);
      return had;
    }
    return { error: 'unknown op' };
  }

  get(key: string): string | undefined {
    return this.data.get(key);
  }

  snapshot(): Uint8Array {
    return drainSnapshotSteps(this.snapshotSteps());
  }

  /** `snapshot()` in steps: the entries are copied now (keys and values are immutable strings). */
  snapshotSteps(): Iterator<void, Uint8Array, void> {
    return writeKvEntries([...this.data.entries()]);
  }

  restore(snapshot: Uint8Array): void {
    this.data.clear();
    for (const [k, v] of JSON.parse(new TextDecoder().decode(snapshot)) as [string, string][])
      this.data.set(k, v);
  }
}

/** Entries encoded per step of `KvStateMachine.snapshotSteps`... */
const KV_SNAPSHOT_STEP_ENTRIES = 1024;
/** ...or characters of them. */
const KV_SNAPSHOT_STEP_CHARS = 1024 * 1024;

/** The sorted entries as one JSON array (what JSON.stringify of the array gives), in steps. */
function writeKvEntries(entries: [string, string][]): Iterator<void, Uint8Array, void> {
  return joinParts(encodeKvEntries(entries));
}

function* encodeKvEntries(entries: [string, string][]): Generator<void, Uint8Array[], void> {
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  yield;
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  let chunk = '[';
  let count = 0;
  for (let i = 0; i < entries.length; i++) {
    chunk += (i > 0 ? ',' : '') + JSON.stringify(entries[i]);
    if (++count >= KV_SNAPSHOT_STEP_ENTRIES || chunk.length >= KV_SNAPSHOT_STEP_CHARS) {
      // Cut between entries: JSON.stringify escapes lone surrogates, so each chunk encodes alone.
      parts.push(encoder.encode(chunk));
      chunk = '';
      count = 0;
      yield;
    }
  }
  parts.push(encoder.encode(`${chunk}]`));
  return parts;
}
