import type { HardState, LogEntry } from '../../generated/index.js';
import type { Snapshot } from '../raft/types.js';

/** What a LogStore recovered. */
export interface LoadedState {
  hardState: HardState;
  /** Entries above the snapshot, contiguous, in index order. */
  entries: LogEntry[];
  snapshot: Snapshot | null;
}

/**
 * Durable storage of the Raft log, hard state and latest snapshot. Every promise resolves only once
 * its effect is durable (survives a crash); a crash before resolution may keep or lose the effect,
 * but never corrupts what was durable before. The node awaits `save` before sending the messages of
 * the same Ready (votes and acknowledgements must never be sent for state that a crash can lose),
 * except a leader's appends, which may go out while its save runs (the core counts the leader
 * toward commit only once `save` resolved).
 *
 * Exception to "durable on resolution": a `save` with no entries whose hard state differs from the
 * stored one only in `commit` may resolve before it is durable, becoming durable with the next
 * sync (as `WalLogStore` does; etcd's MustSync). The commit index is volatile Raft state: a
 * recovery that finds an older one re-learns it from the leader, and never applies beyond it.
 *
 * Concurrency: the node writes a local snapshot in the background, so `saveSnapshot(s, false)` and
 * `compact` may run while `save` calls are in progress; an implementation must keep each call's
 * effect intact whatever the interleaving (serialize internally if it cannot). Nothing else
 * overlaps: `save` calls come one at a time, and `saveSnapshot(s, true)` waits for the background
 * snapshot.
 */
export interface LogStore {
  /** Reads everything back (an empty, fresh store yields term 0, no entries, no snapshot). */
  load(): Promise<LoadedState>;
  /**
   * Appends `entries` (which replace every stored entry at or after `entries[0].index`) and records
   * `hardState` when given, durably.
   */
  save(hardState: HardState | undefined, entries: readonly LogEntry[]): Promise<void>;
  /**
   * Optional: `save`, completed on the calling thread when the store can: returns undefined once
   * durable, else a promise like `save`'s (the save is under way; await it). Throws synchronously
   * what `save` would reject with. The node uses it so that a follower's acknowledgement leaves
   * right after its fdatasync, not after the event loop's turn.
   */
  saveNow?(hardState: HardState | undefined, entries: readonly LogEntry[]): Promise<void> | undefined;
  /**
   * Atomically records `snapshot` as the latest one and drops entries at or below its index. With
   * `replaceLog` (a snapshot installed from the leader) every stored entry is dropped too.
   */
  saveSnapshot(snapshot: Snapshot, replaceLog: boolean): Promise<void>;
  /** Drops entries at or below `index` (which must be covered by the saved snapshot). */
  compact(index: number): Promise<void>;
}
