/**
 * The production LogStore: the Raft node's durable log on the segmented WAL and the atomic
 * snapshot store (see `openStorage`). Entries are stored as generated `LogEntry` codec bytes, so the
 * WAL stays opaque to the protocol; the snapshot's configuration is the generated `ClusterConfig`.
 *
 * Contract (from LogStore): every promise resolves only once its effect is durable, and `saveNow`
 * returns undefined only once it is, with one exception: a save that carries no entries and a hard
 * state differing only in `commit` completes at once and is made durable by the next sync.
 */
import {
  type ClusterConfig,
  decodeLogEntry,
  encodeLogEntry,
  type HardState,
  type LogEntry,
} from '../../generated/index.js';
import type { FileSystem } from '../env/types.js';
import type { LoadedState, LogStore } from '../node/log-store.js';
import type { Snapshot } from '../raft/types.js';
import { openStorage, type Recovered, type Storage, type StorageOptions } from './storage.js';

/** A LogStore on the WAL; `recovered.repair` tells what recovery had to repair (a torn tail). */
export interface WalLogStore extends LogStore {
  readonly storage: Storage;
  /** What the last `load` found and repaired (null before `load`). */
  readonly recovered: Recovered | null;
  saveNow(hardState: HardState | undefined, entries: readonly LogEntry[]): Promise<void> | undefined;
  close(): Promise<void>;
}

/**
 * Creates a LogStore on `fs` (rooted at the member's data dir). Recovery happens in `load()`:
 * it throws `WalCorruptionError` (mid-log damage: refuse to start) and repairs a torn tail.
 */
export function createWalLogStore(fs: FileSystem, options: StorageOptions = {}): WalLogStore {
  let storage: Storage | null = null;
  let recovered: Recovered | null = null;
  const opened = (): Storage => {
    if (!storage) throw new Error('WalLogStore: load() must complete before use');
    return storage;
  };
  const saveNow = (
    hardState: HardState | undefined,
    entries: readonly LogEntry[],
  ): Promise<void> | undefined => {
    const wal = opened().wal;
    if (entries.length === 0 && hardState) {
      const cur = wal.hardState;
      if (hardState.term === cur.term && hardState.votedFor === cur.votedFor) {
        // Only the commit index moved: buffer it without an fdatasync of its own (it becomes
        // durable with the next sync). The commit index is volatile Raft state: recovery may
        // restore a lower one and the leader re-establishes it, so nothing acknowledged is lost,
        // while syncing it would put a third fdatasync on every commit's path (etcd's MustSync
        // makes the same exception).
        if (hardState.commit !== cur.commit)
          wal.append([], { term: hardState.term, votedFor: hardState.votedFor, commit: hardState.commit });
        return undefined;
      }
    }
    return wal.saveNow(
      entries.map((e) => ({ index: e.index, term: e.term, payload: encodeLogEntry(e) })),
      hardState
        ? { term: hardState.term, votedFor: hardState.votedFor, commit: hardState.commit }
        : undefined,
    );
  };
  return {
    get storage() {
      return opened();
    },
    get recovered() {
      return recovered;
    },
    async load(): Promise<LoadedState> {
      const r = await openStorage(fs, options);
      storage = r.storage;
      recovered = r.recovered;
      const hardState: HardState = { ...r.recovered.hardState };
      const entries: LogEntry[] = r.recovered.entries.map((e) => decodeLogEntry(e.payload));
      const s = r.recovered.snapshot;
      const snapshot: Snapshot | null = s
        ? { meta: { index: s.index, term: s.term, config: s.configuration as ClusterConfig }, data: s.data }
        : null;
      return { hardState, entries, snapshot };
    },
    saveNow,
    save(hardState, entries) {
      try {
        return saveNow(hardState, entries) ?? Promise.resolve();
      } catch (e) {
        return Promise.reject(e);
      }
    },
    async saveSnapshot(snapshot, replaceLog) {
      const st = opened();
      const { index, term, config } = snapshot.meta;
      // A snapshot installed from the leader replaces the whole log; a local one keeps the suffix.
      if (replaceLog && st.wal.lastIndex > index) st.wal.truncateSuffix(index + 1);
      await st.installSnapshot({ index, term, configuration: config, data: snapshot.data });
    },
    async compact(index) {
      await opened().wal.compact(index);
    },
    async close() {
      await storage?.wal.close();
    },
  };
}
