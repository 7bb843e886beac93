/** File-system error classification shared by storage and the node. */

/**
 * Error codes that say the process ran out of file descriptors, not that the disk failed: a
 * snapshot that hits one is skipped (retried at the next interval) rather than failing the member.
 */
export const OUT_OF_DESCRIPTORS: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE']);

/**
 * Whether `e` is an fs error with one of `OUT_OF_DESCRIPTORS`, and not a storage failure that
 * carries such a code: once the WAL itself failed (StorageFailedError), it stays failed.
 */
export function isOutOfDescriptors(e: unknown): boolean {
  if ((e as Error | null)?.name === 'StorageFailedError') return false;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && OUT_OF_DESCRIPTORS.has(code);
}
