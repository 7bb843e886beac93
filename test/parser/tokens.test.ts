import { describe, expect, it } from 'vitest';
import { parseVibee } from '../../generator/parse/parse-vibee.js';
import { toPlainValue } from '../../generator/parse/to-plain.js';

// Token edge cases of the lexical rules (keys, plain values, trailing blanks and comments, line
// ends, continuation lines, the line lookahead after a plain value). Values agree with the `yaml`
// package except where the .vibee language says otherwise (L3, a root that must be a mapping).
const accepted: [string, unknown][] = [
  ['a:b: c\n', { 'a:b': 'c' }],
  ['url: http://x.y:80/z # c\n', { url: 'http://x.y:80/z' }],
  ['k: a #b c\n', { k: 'a' }],
  ['k: v   \n', { k: 'v' }],
  ['k: v\t# c\n', { k: 'v' }],
  ['k: v #\n', { k: 'v' }],
  ['k#x: 1\n', { 'k#x': 1 }],
  ['k: v\r\nm: w\r\n', { k: 'v', m: 'w' }],
  ['k: one\n  two\n\n  three\nm: 1\n', { k: 'one two\nthree', m: 1 }],
  ['k: x\n  \n  y\n', { k: 'x\ny' }],
  ['a:\n  b: 1\n  # c\n\n  c: 2\nd: 3\n', { a: { b: 1, c: 2 }, d: 3 }],
  ['a: 1\n  \nb: 2  \n', { a: 1, b: 2 }],
  ["k: \"a\\tb\" \nm: 'it''s'\n", { k: 'a\tb', m: "it's" }],
  ['k:   \n  - 1\n  -   2 # c\n', { k: [1, 2] }],
  ['"q k": 1\n\'s\': 2\n', { 'q k': 1, s: 2 }],
  ['k: [a, b: c, {d: e}]\n', { k: ['a', { b: 'c' }, { d: 'e' }] }],
  ['k: |\n  x\n   y\n\n  z\n', { k: 'x\n y\n\nz\n' }],
  ['k: >-\n  a\n  b\n\n  c\n', { k: 'a b\nc' }],
  ['k: a: b\n', { k: 'a: b' }],
  ['k:\n- a\n- b\n', { k: ['a', 'b'] }],
  ['k: -1\nm: -x\nn: ?y\no: :z\n', { k: -1, m: '-x', n: '?y', o: ':z' }],
  ['a:\n  - b: 1\n    c: 2\n  - d\n', { a: [{ b: 1, c: 2 }, 'd'] }],
];

describe('lexical edge cases', () => {
  for (const [text, value] of accepted) {
    it(JSON.stringify(text), () => {
      const r = parseVibee(text, 't.vibee');
      expect(r.diagnostics).toEqual([]);
      expect(toPlainValue(r.document)).toEqual(value);
    });
  }
  it('a comment line ends a plain scalar: a deeper line after it is an error', () => {
    const d = parseVibee('k: one\n  # c\n  two\n', 't.vibee').diagnostics[0];
    expect([d?.code, d?.range.start.line, d?.range.start.column]).toEqual(['YAML021', 3, 3]);
  });
  it('scalar ranges: a pair spans its key and value; positions are 1-based', () => {
    const r = parseVibee('a: 1\nbb:  xyz\n', 't.vibee');
    const root = r.document?.root;
    if (root?.kind !== 'mapping') throw new Error('expected a mapping');
    const pair = root.entries[1];
    expect([pair?.range.start, pair?.range.end]).toEqual([
      { line: 2, column: 1, offset: 5 },
      { line: 2, column: 9, offset: 13 },
    ]);
    expect(pair?.value.range.start).toEqual({ line: 2, column: 6, offset: 10 });
  });
});
