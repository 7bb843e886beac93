/**
 * Ties a data directory to one member of one cluster, and to one process at a time.
 *
 * - `member.json` ({ id, clusterId }) is written durably on first start. A later start as another
 *   member or in another cluster is refused: the WAL holds the term, vote and log of the member
 *   that wrote it, and a member adopting them could vote twice in a term or lose entries it had
 *   acknowledged. A directory from before this file existed is adopted by its next start.
 * - `LOCK` holds the pid of the process serving from the directory. A second process is refused
 *   while that one lives; the lock of a process that is gone (kill -9, power loss) is taken over.
 * - `JOINING` marks a member that started with no Raft state (no WAL, no snapshot) and has not
 *   yet been judged: started to join a running cluster, until it has found itself a newcomer
 *   (`RaftConfig.freshJoin`), or started with the static member list, until it has caught up
 *   (`RaftConfig.freshBootstrap`). Until then it must not vote as usual, also across restarts,
 *   since it may be a voter whose data was lost. It holds how the member started (`mode`) and the
 *   target once known (`RaftConfig.joinTarget`).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

/** The data directory belongs to another member or cluster, or another process uses it. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

/** What `member.json` records. */
interface MemberRecord {
  id: string;
  clusterId: string;
}

/** Directories claimed by this process (a LOCK with our own pid is ours only if listed here). */
const claimedHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

function readMember(path: string): MemberRecord | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DataDirError(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const m = JSON.parse(text) as Partial<MemberRecord>;
    if (typeof m.id === 'string' && typeof m.clusterId === 'string')
      return { id: m.id, clusterId: m.clusterId };
  } catch {
    // reported below
  }
  throw new DataDirError(`${path} is damaged; it must hold {"id":...,"clusterId":...} of this member`);
}

/** Writes `path` so that after a crash it is either absent or whole (temp, fsync, rename, dir fsync). */
function writeDurably(dir: string, name: string, text: string): void {
  const tmp = join(dir, `${name}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  const d = openSync(dir, 'r');
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}

function takeLock(dir: string, lockPath: string): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    const ours = pid === process.pid;
    if (Number.isInteger(pid) && (ours ? claimedHere.has(dir) : isAlive(pid)))
      throw new DataDirError(
        `${dir} is in use by process ${pid}; if no member runs there, remove ${lockPath} and retry`,
      );
    unlinkSync(lockPath); // left by a process that is gone
  }
  throw new DataDirError(`could not take ${lockPath}: another process keeps taking it`);
}

/**
 * Claims `dir` (which must exist) for member `id` of `clusterId`; returns the release function,
 * which removes the lock. Throws `DataDirError` when the directory is another member's or in use.
 */
export function claimDataDir(dir: string, id: string, clusterId: string): () => void {
  const abs = resolve(dir);
  const memberPath = join(abs, 'member.json');
  const recorded = readMember(memberPath);
  if (recorded && (recorded.id !== id || recorded.clusterId !== clusterId))
    throw new DataDirError(
      `${abs} holds the data of member '${recorded.id}' of cluster '${recorded.clusterId}', not '${id}' of '${clusterId}': point --data at this member's own directory`,
    );
  const lockPath = join(abs, 'LOCK');
  try {
    takeLock(abs, lockPath);
  } catch (e) {
    if (e instanceof DataDirError) throw e;
    throw new DataDirError(`cannot take the lock ${lockPath}: ${(e as Error).message}`);
  }
  claimedHere.add(abs);
  try {
    if (!recorded) writeDurably(abs, 'member.json', `${JSON.stringify({ id, clusterId })}\n`);
  } catch (e) {
    claimedHere.delete(abs);
    unlinkSync(lockPath);
    throw new DataDirError(`cannot write ${memberPath}: ${(e as Error).message}`);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    claimedHere.delete(abs);
    try {
      unlinkSync(lockPath);
    } catch {
      // already gone: nothing to release
    }
  };
}

const JOINING = 'JOINING';

/** Whether `dir` holds no Raft state: no WAL segment and no snapshot file (other files aside). */
export function holdsNoRaftState(dir: string, walDir = 'wal', snapDir = 'snap'): boolean {
  const entries = (sub: string) => {
    try {
      return readdirSync(join(resolve(dir), sub));
    } catch {
      return [];
    }
  };
  return (
    !entries(walDir).some((n) => n.endsWith('.wal')) && !entries(snapDir).some((n) => n.endsWith('.snap'))
  );
}

/** How a member with no Raft state started: to join (`--join`), or with the static member list. */
export type FreshStart = 'join' | 'bootstrap';

/**
 * Marks `dir` (claimed, holding no Raft state) as started fresh, or records the target found
 * (`target`): see the module doc. Durable when it returns.
 */
export function markJoinPending(dir: string, mode: FreshStart, target?: number, term?: number): void {
  const marker = target === undefined ? { mode } : { mode, target, ...(term ? { term } : {}) };
  writeDurably(resolve(dir), JOINING, `${JSON.stringify(marker)}\n`);
}

/**
 * The unjudged fresh start of `dir` (its target, and the term of the append it came from, once
 * known), or null when there is none.
 */
export function joinPending(dir: string): { mode: FreshStart; target?: number; term?: number } | null {
  const path = join(resolve(dir), JOINING);
  if (!existsSync(path)) return null;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { mode?: unknown; target?: unknown; term?: unknown };
    // A marker without a mode is from a release that only marked joins.
    const mode: FreshStart = v.mode === 'bootstrap' ? 'bootstrap' : 'join';
    if (!Number.isSafeInteger(v.target)) return { mode };
    const term = Number.isSafeInteger(v.term) ? { term: v.term as number } : {};
    return { mode, target: v.target as number, ...term };
  } catch {
    // Damaged (or from a release that wrote text): still unjudged, target unknown, judged the
    // stricter way.
    return { mode: 'join' };
  }
}

/** Ends the check of `dir` (a newcomer, or caught up). Durable. */
export function clearJoinPending(dir: string): void {
  const abs = resolve(dir);
  try {
    unlinkSync(join(abs, JOINING));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return;
  }
  const d = openSync(abs, 'r');
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}
