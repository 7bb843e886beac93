/**
 * Offset -> (line, column) conversion for one source text. Lines and columns are 1-based and
 * columns count Unicode code points (the contract of every diagnostic), while offsets stay UTF-16.
 */
import type { SourcePosition, SourceRange } from '../diagnostics.js';

/**
 * Maps UTF-16 offsets of `text` to positions; built once per text (O(n)). Queries are O(1) when
 * they land on the line of the previous query or the next one (the parser asks in nearly
 * ascending order), O(log n) otherwise.
 */
export class PositionMap {
  private readonly lineStarts: number[] = [0];
  private readonly hasSurrogates: boolean;
  /** Index (0-based) of the line of the last query. */
  private lastLine = 0;
  /**
   * Recently returned positions, direct-mapped by offset: adjacent nodes share offsets (a pair
   * starts where its key starts and ends where its value ends), so they share the (never mutated)
   * position objects instead of allocating equal ones.
   */
  private readonly recent: (SourcePosition | undefined)[] = new Array(64).fill(undefined);

  /**
   * `hasSurrogates` may be passed when the caller already knows whether `text` holds a UTF-16
   * surrogate (saves a scan of the text); when omitted it is computed.
   */
  constructor(
    private readonly text: string,
    hasSurrogates?: boolean,
  ) {
    const starts = this.lineStarts;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    this.hasSurrogates = hasSurrogates ?? /[\uD800-\uDFFF]/.test(text);
  }

  /** Index (0-based) of the line holding the (clamped) offset `off`. */
  private lineIndex(off: number): number {
    const starts = this.lineStarts;
    const n = starts.length;
    let line = this.lastLine;
    if ((starts[line] as number) <= off) {
      if (line + 1 >= n || off < (starts[line + 1] as number)) return line;
      line++;
      if (line + 1 >= n || off < (starts[line + 1] as number)) {
        this.lastLine = line;
        return line;
      }
    }
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= off) lo = mid;
      else hi = mid - 1;
    }
    this.lastLine = lo;
    return lo;
  }

  /** Position of a UTF-16 offset (clamped to the text). */
  position(offset: number): SourcePosition {
    const off = Math.max(0, Math.min(offset, this.text.length));
    const cached = this.recent[off & 63];
    if (cached !== undefined && cached.offset === off) return cached;
    const line = this.lineIndex(off);
    const lineStart = this.lineStarts[line] as number;
    let column = off - lineStart + 1;
    if (this.hasSurrogates) {
      // Count code points: a surrogate pair is one column.
      column = 1;
      for (let i = lineStart; i < off; i++) {
        const c = this.text.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < off) i++;
        column++;
      }
    }
    const position = { line: line + 1, column, offset: off };
    this.recent[off & 63] = position;
    return position;
  }

  /** Range of two offsets. */
  range(start: number, end: number): SourceRange {
    return { start: this.position(start), end: this.position(end) };
  }

  /** The 1-based line number holding an offset. */
  lineOf(offset: number): number {
    return this.position(offset).line;
  }

  /** UTF-16 offset where a 1-based line starts (or the text length past the end). */
  lineStart(line: number): number {
    return this.lineStarts[line - 1] ?? this.text.length;
  }
}
