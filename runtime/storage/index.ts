/**
 * Durable storage for a member: the segmented write-ahead log (hard state and entries), atomic
 * snapshots, and recovery that never drops an acknowledged write. Written only against the env
 * `FileSystem`, so it runs unchanged on node:fs and on the simulator's crashing file system.
 */
export { CORRUPTION_REMEDY, StorageFailedError, WalCorruptionError } from './errors.js';
export {
  RECORD_ALIGN,
  RECORD_HEADER_SIZE,
  RecordType,
  type HardState,
  type RecordTypeTag,
  type SnapshotMeta,
  type WalEntry,
  decodeRecordAt,
  recordSize,
} from './record.js';
export {
  type RepairReport,
  Wal,
  type WalOptions,
  type WalRecovered,
  type WalStats,
  openWal,
  segmentFileName,
} from './wal.js';
export {
  type Snapshot,
  type SkippedSnapshot,
  SnapshotStore,
  type SnapshotStoreOptions,
  decodeSnapshot,
  encodeSnapshot,
  openSnapshotStore,
  snapshotFileName,
} from './snapshot-store.js';
export { type Recovered, type Storage, type StorageOptions, openStorage } from './storage.js';
