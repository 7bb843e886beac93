/**
 * The replicated state machine interface and a small default key-value machine.
 * `apply` must be deterministic: every member applies the same commands in the same order and must
 * reach the same state (and return the same result).
 */
export interface StateMachine {
  /** Applies one committed command at log index `index`; the result goes back to the proposer. */
  apply(command: Uint8Array, index: number): unknown;
  /** Serialises the whole state (taken every SNAPSHOT_INTERVAL applied entries). */
  snapshot(): Uint8Array;
  /** Replaces the whole state by a snapshot's bytes. */
  restore(snapshot: Uint8Array): void;
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
    return new TextEncoder().encode(
      JSON.stringify([...this.data.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    );
  }

  restore(snapshot: Uint8Array): void {
    this.data.clear();
    for (const [k, v] of JSON.parse(new TextDecoder().decode(snapshot)) as [string, string][])
      this.data.set(k, v);
  }
}
