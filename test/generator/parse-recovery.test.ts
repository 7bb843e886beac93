/**
 * After a syntax error the parser recovers and still checks the rest of the tree for duplicate
 * keys, so one run reports every problem of the file.
 */
import { expect, it } from 'vitest';
import { parseVibee } from '../../generator/index.js';

it('a duplicate key is reported together with a syntax error later in the file', () => {
  const r = parseVibee('a: 1\na: 2\nb = 3\n', 'x.vibee');
  const got = r.diagnostics.map((d) => `${d.range.start.line}:${d.range.start.column} ${d.code}`);
  expect(got).toContain('3:3 YAML016');
  expect(got).toContain('2:1 YAML014'); // was dropped with the recovered tree
});
