/**
 * Offset -> (line, column) conversion for one source text. Lines and columns are 1-based and
 * columns count Unicode code points (the contract of every diagnostic), while offsets stay UTF-16.
 */
import type { SourcePosition, SourceRange } from '../diagnostics.js';

/** Maps UTF-16 offsets of `text` to positions; built once per text (O(n)), queries are O(log n). */
export class PositionMap {
  private readonly lineStarts: number[] = [0];
  private readonly hasSurrogates: boolean;

  constructor(private readonly text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
    this.hasSurrogates = /[\uD800-\uDFFF]/.test(text);
  }

  /** Position of a UTF-16 offset (clamped to the text). */
  position(offset: number): SourcePosition {
    const off = Math.max(0, Math.min(offset, this.text.length));
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= off) lo = mid;
      else hi = mid - 1;
    }
    const lineStart = starts[lo] as number;
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
    return { line: lo + 1, column, offset: off };
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
