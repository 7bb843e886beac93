/**
 * Diagnostics shared by every compiler pass (parse, lower, validate, check, emit).
 *
 * Contract: every diagnostic carries a stable code and a source range; passes collect them and
 * never throw for bad input. Lines and columns are 1-based; columns count Unicode code points.
 */

/** A point in a source file. `offset` is a UTF-16 index into the decoded text. */
export interface SourcePosition {
  /** 1-based line number. */
  line: number;
  /** 1-based column, counted in Unicode code points. */
  column: number;
  /** 0-based UTF-16 offset into the source text. */
  offset: number;
}

/** A half-open range [start, end) in a source file. */
export interface SourceRange {
  start: SourcePosition;
  end: SourcePosition;
}

/** How serious a diagnostic is: errors fail the command, warnings do not. */
export type Severity = 'error' | 'warning';

/** One problem found in a source file. */
export interface Diagnostic {
  /** Stable code, e.g. `VIB001` for spec checks or `YAML012` for syntax errors. */
  code: string;
  severity: Severity;
  message: string;
  /** File name as given by the caller (used verbatim in the printed form). */
  file: string;
  range: SourceRange;
  /** Extra lines printed after the excerpt (e.g. "first defined at 3:5"). */
  notes?: string[];
}

/** Builds a diagnostic; `range` defaults to the start of the file. */
export function createDiagnostic(
  code: string,
  message: string,
  file: string,
  range?: SourceRange,
  severity: Severity = 'error',
  notes?: string[],
): Diagnostic {
  const start = range?.start ?? { line: 1, column: 1, offset: 0 };
  return {
    code,
    severity,
    message,
    file,
    range: range ?? { start, end: start },
    ...(notes ? { notes } : {}),
  };
}

/** True when any diagnostic is an error. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/**
 * Prints a diagnostic as `FILE:LINE:COL: error[CODE]: MESSAGE`, then the source line and a caret line
 * under the column (when the source text is known). Tabs in the excerpt are kept so the caret lines up.
 */
export function formatDiagnostic(d: Diagnostic, sourceText?: string): string {
  const { line, column } = d.range.start;
  const head = `${d.file}:${line}:${column}: ${d.severity}[${d.code}]: ${d.message}`;
  const out = [head];
  if (sourceText !== undefined) {
    const lines = sourceText.split(/\r?\n/);
    const src = lines[line - 1];
    if (src !== undefined) {
      const codePoints = Array.from(src);
      const shown =
        codePoints.length > 200 ? codePoints.slice(Math.max(0, column - 100), column + 100) : codePoints;
      const shift = codePoints.length > 200 ? Math.max(0, column - 100) : 0;
      const prefix = shown
        .slice(0, Math.max(0, column - 1 - shift))
        .map((ch) => (ch === '\t' ? '\t' : ' '))
        .join('');
      out.push(`  ${shown.join('')}`, `  ${prefix}^`);
    }
  }
  for (const note of d.notes ?? []) out.push(`  note: ${note}`);
  return out.join('\n');
}

/** Prints many diagnostics, sorted by file, line and column, each with its excerpt. */
export function formatDiagnostics(
  diagnostics: readonly Diagnostic[],
  sources: ReadonlyMap<string, string>,
): string {
  const sorted = [...diagnostics].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.range.start.line - b.range.start.line ||
      a.range.start.column - b.range.start.column,
  );
  return sorted.map((d) => formatDiagnostic(d, sources.get(d.file))).join('\n');
}
