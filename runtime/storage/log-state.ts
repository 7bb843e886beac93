/**
 * The logical effect of WAL records, shared by recovery (replaying segments) and the writer (which
 * tracks what it appended and what reached disk). It knows terms per index so a snapshot marker
 * can tell whether the log after it is kept (the entry at the snapshot index has the same term) or
 * discarded (an installed snapshot from the leader replaces a conflicting log).
 */
import type { HardState, SnapshotMeta, WalEntry } from './record.js';

/** Raised for a record sequence that a correct writer never produces. */
export class LogStateError extends Error {
  override readonly name = 'LogStateError';
}

/** Replayable log state. */
export class LogState {
  /** Index just before the first index whose term (and payload, when kept) is known. */
  offset: number;
  /** terms[k] is the term of entry offset + 1 + k. */
  terms: number[] = [];
  /** payloads[k] belongs to entry offset + 1 + k (only when payloads are kept, i.e. recovery). */
  payloads: Uint8Array[] = [];
  hardState: HardState = { term: 0, votedFor: null, commit: 0 };
  snapshot: SnapshotMeta = { index: 0, term: 0 };

  constructor(
    base: number,
    private readonly keepPayloads: boolean,
  ) {
    this.offset = base;
  }

  /** Index of the last entry (the snapshot index when the log after it is empty). */
  get lastIndex(): number {
    return this.offset + this.terms.length;
  }

  /** Term of entry `index`, or undefined when it is not known here. */
  termAt(index: number): number | undefined {
    if (index === this.snapshot.index && index > 0) return this.snapshot.term;
    return this.terms[index - this.offset - 1];
  }

  /** Appends an entry, discarding any entries from its index on (a follower overwriting). */
  entry(e: WalEntry): void {
    if (!Number.isSafeInteger(e.index) || e.index < 1) throw new LogStateError(`bad index ${e.index}`);
    if (e.index <= this.snapshot.index) {
      throw new LogStateError(`entry ${e.index} is covered by the snapshot at ${this.snapshot.index}`);
    }
    if (e.index > this.lastIndex + 1) {
      throw new LogStateError(`entry ${e.index} leaves a gap after ${this.lastIndex}`);
    }
    this.truncateFrom(e.index);
    this.terms.push(e.term);
    if (this.keepPayloads) this.payloads.push(e.payload);
  }

  /** Discards entries from `from` on. */
  truncateFrom(from: number): void {
    if (from <= this.snapshot.index) {
      throw new LogStateError(`cannot truncate from ${from}: the snapshot covers ${this.snapshot.index}`);
    }
    if (from > this.lastIndex + 1) throw new LogStateError(`cannot truncate from ${from} beyond the log end`);
    if (from - 1 >= this.offset) {
      const keep = from - 1 - this.offset;
      if (keep === this.terms.length) return; // the common append: nothing to discard
      this.terms.length = keep;
      if (this.keepPayloads) this.payloads.length = this.terms.length;
    } else {
      this.offset = from - 1;
      this.terms = [];
      this.payloads = [];
    }
  }

  /** A durable snapshot now covers the log up to `s.index`. Stale markers are ignored. */
  markSnapshot(s: SnapshotMeta): void {
    if (s.index <= this.snapshot.index) return;
    if (this.snapshotKeepsLog(s)) {
      const drop = Math.max(0, s.index - this.offset);
      this.terms.splice(0, drop);
      if (this.keepPayloads) this.payloads.splice(0, drop);
      this.offset = Math.max(this.offset, s.index);
    } else {
      this.offset = s.index;
      this.terms = [];
      this.payloads = [];
    }
    this.snapshot = { index: s.index, term: s.term };
  }

  /**
   * Whether a snapshot marker `s` (above the current snapshot) keeps the entries after its index:
   * the log reaches it and holds its entry with its term, or that entry lies below what is held
   * here (compacted: nothing here can contradict it).
   */
  snapshotKeepsLog(s: SnapshotMeta): boolean {
    return s.index <= this.lastIndex && (s.index <= this.offset || this.termAt(s.index) === s.term);
  }

  /** The kept entries after the snapshot, in order (recovery only). */
  entries(): WalEntry[] {
    const out: WalEntry[] = [];
    for (let k = 0; k < this.terms.length; k++) {
      const index = this.offset + 1 + k;
      if (index <= this.snapshot.index) continue;
      out.push({ index, term: this.terms[k] as number, payload: this.payloads[k] as Uint8Array });
    }
    return out;
  }
}
