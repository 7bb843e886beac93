import type { LogEntry } from '../../generated/index.js';
import { RaftInvariantError } from './errors.js';

/**
 * The in-memory Raft log: a snapshot boundary (index, term) followed by contiguous entries.
 * Invariants: `entries[i].index === snapshotIndex + 1 + i`; terms never decrease along the log;
 * `stableIndex <= lastIndex()` is the highest index known durable (handed out in a Ready and
 * acknowledged by `advance`); entries above it are "unstable" and must be persisted before any
 * message that depends on them is sent.
 */
export class RaftLog {
  snapshotIndex: number;
  snapshotTerm: number;
  entries: LogEntry[] = [];
  stableIndex: number;

  constructor(snapshotIndex = 0, snapshotTerm = 0) {
    this.snapshotIndex = snapshotIndex;
    this.snapshotTerm = snapshotTerm;
    this.stableIndex = snapshotIndex;
  }

  /** Index of the first entry held in memory (snapshotIndex + 1). */
  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  /** Index of the last entry (or of the snapshot when empty). */
  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  /** Term of the last entry. */
  lastTerm(): number {
    const n = this.entries.length;
    return n === 0 ? this.snapshotTerm : (this.entries[n - 1] as LogEntry).term;
  }

  /** Term at `index`, or undefined when compacted away (below the snapshot) or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.snapshotIndex - 1] as LogEntry).term;
  }

  /** The entry at `index` (undefined when compacted or beyond the end). */
  entry(index: number): LogEntry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1];
  }

  /** Entries in [lo, hi) (caller guarantees lo > snapshotIndex). */
  slice(lo: number, hi: number): LogEntry[] {
    if (lo <= this.snapshotIndex)
      throw new RaftInvariantError(`slice(${lo}) below snapshot ${this.snapshotIndex}`);
    const off = this.snapshotIndex + 1;
    return this.entries.slice(lo - off, Math.min(hi, this.lastIndex() + 1) - off);
  }

  /** True when (index, term) is at least as up to date as our last entry (Raft §5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const t = this.lastTerm();
    return lastTerm > t || (lastTerm === t && lastIndex >= this.lastIndex());
  }

  /** Appends entries that must directly follow the last index. */
  append(entries: readonly LogEntry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1)
        throw new RaftInvariantError(`append gap: ${e.index} after ${this.lastIndex()}`);
      if (e.term < this.lastTerm())
        throw new RaftInvariantError(`append term ${e.term} after ${this.lastTerm()}`);
      this.entries.push(e);
    }
  }

  /** Drops every entry with index >= `from` (conflict resolution); lowers stableIndex accordingly. */
  truncateFrom(from: number): void {
    if (from <= this.snapshotIndex)
      throw new RaftInvariantError(`truncate ${from} at or below snapshot ${this.snapshotIndex}`);
    this.entries.length = Math.max(0, from - this.snapshotIndex - 1);
    if (this.stableIndex >= from) this.stableIndex = from - 1;
  }

  /** Drops entries up to and including `index` (which must be held); the boundary moves there. */
  compact(index: number): void {
    if (index <= this.snapshotIndex) return;
    const t = this.term(index);
    if (t === undefined) throw new RaftInvariantError(`compact(${index}) beyond last ${this.lastIndex()}`);
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = t;
    if (this.stableIndex < index) this.stableIndex = index;
  }

  /** Replaces the whole log by a snapshot boundary (a snapshot installed from the leader). */
  restore(index: number, term: number): void {
    this.entries = [];
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.stableIndex = index;
  }

  /** Entries not yet known durable. */
  unstable(): LogEntry[] {
    return this.slice(Math.max(this.stableIndex, this.snapshotIndex) + 1, this.lastIndex() + 1);
  }

  /**
   * First index of the run of entries with term `term` that ends at or after `index` (used for the
   * conflict hint); never below firstIndex.
   */
  firstIndexOfTermAt(index: number): number {
    const t = this.term(index);
    let i = index;
    while (i - 1 > this.snapshotIndex && this.term(i - 1) === t) i--;
    return i;
  }

  /** Highest index whose term is `term`, or 0 when the log holds none (fast backtracking). */
  lastIndexOfTerm(term: number): number {
    for (let i = this.lastIndex(); i > this.snapshotIndex; i--) {
      const t = this.term(i) as number;
      if (t === term) return i;
      if (t < term) return 0;
    }
    return 0;
  }
}
