import { describe, expect, it } from 'vitest';
import { createDiagnostic, formatDiagnostic } from '../../generator/diagnostics.js';

describe('formatDiagnostic', () => {
  it('prints FILE:LINE:COL, the source line and a caret under the column', () => {
    const text = 'name: x\nkey = value\n';
    const d = createDiagnostic('YAML001', 'expected ":"', 'a.vibee', {
      start: { line: 2, column: 5, offset: 12 },
      end: { line: 2, column: 6, offset: 13 },
    });
    expect(formatDiagnostic(d, text)).toBe(
      'a.vibee:2:5: error[YAML001]: expected ":"\n  key = value\n      ^',
    );
  });

  it('counts columns in code points, so the caret sits under an astral character', () => {
    const text = '😀😀x';
    const d = createDiagnostic('T', 'm', 'f', {
      start: { line: 1, column: 3, offset: 4 },
      end: { line: 1, column: 4, offset: 5 },
    });
    expect(formatDiagnostic(d, text).split('\n')[2]).toBe('    ^');
  });
});
