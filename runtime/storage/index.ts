/**
 * Durable storage for a member: the segmented write-ahead log (hard state and entries), atomic
 * snapshots, and recovery that never drops an acknowledged write. Written only against the env
 * `FileSystem`, so it runs unchanged on node:fs and on the simulator's crashing file system.
 */
export { CORRUPTION_REMEDY, StorageFailedError, WalCorruptionError } from './errors.js';
export {
  decodeRecordAt,
  type HardState,
  RECORD_ALIGN,
  RECORD_HEADER_SIZE,
  RecordType,
  type RecordTypeTag,
  recordSize,
  type SnapshotMeta,
  type WalEntry,
} from './record.js';
export {
  decodeSnapshot,
  encodeSnapshot,
  openSnapshotStore,
  type SkippedSnapshot,
  type Snapshot,
  SnapshotStore,
  type SnapshotStoreOptions,
  snapshotFileName,
} from './snapshot-store.js';
export { openStorage, type Recovered, type Storage, type StorageOptions } from './storage.js';
export {
  openWal,
  type RepairReport,
  segmentFileName,
  Wal,
  type WalOptions,
  type WalRecovered,
  type WalStats,
} from './wal.js';
