/**
 * Typed storage errors. Both carry enough context for an operator to act on them: a corruption
 * names the file, the byte offset and the remedy; a failure keeps the underlying fs error as cause.
 */

/** What an operator can do about an unrecoverable log (repeated in every corruption message). */
export const CORRUPTION_REMEDY =
  'the log cannot be repaired without losing acknowledged data; restore this member from a snapshot: ' +
  'stop it, move its data dir aside, and re-add it to the cluster (members remove, then members add) ' +
  'so it catches up from the leader';

/**
 * Damage that recovery must not paper over: corruption before the tail, a missing segment, a gap
 * between segments. The node refuses to start rather than run with a silently shortened log.
 */
export class WalCorruptionError extends Error {
  override readonly name = 'WalCorruptionError';
  /** The file (relative to the node's data dir) where the damage was found. */
  readonly file: string;
  /** Byte offset inside `file` of the first damaged byte or record. */
  readonly offset: number;
  /** Short description of the damage (without the remedy). */
  readonly reason: string;

  constructor(file: string, offset: number, reason: string) {
    super(`WAL corruption in ${file} at offset ${offset}: ${reason}; ${CORRUPTION_REMEDY}`);
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }
}

/**
 * The disk failed (EIO, ENOSPC, ...). Once raised, the WAL stays failed: every later append or sync
 * rejects with this error, so nothing is acknowledged after a write that may not have reached disk.
 */
export class StorageFailedError extends Error {
  override readonly name = 'StorageFailedError';
  /** The fs error code of the original failure (e.g. 'EIO', 'ENOSPC'), when it had one. */
  readonly code: string | undefined;

  constructor(operation: string, cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `storage failed during ${operation}: ${detail}; this member no longer acknowledges writes ` +
        '(fix the disk, e.g. free space or replace it, then restart the member)',
      { cause },
    );
    this.code = typeof code === 'string' ? code : undefined;
  }
}
