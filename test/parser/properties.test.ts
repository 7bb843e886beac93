import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseVibee } from '../../generator/parse/parse-vibee.js';
import { printVibee } from '../../generator/parse/print-vibee.js';
import { type PlainValue, toPlainValue } from '../../generator/parse/to-plain.js';
import { corpusBytes, loadCorpus } from './corpus.js';

const corpus = loadCorpus()
  .filter((e) => e.outcome !== 'reject')
  .map((e) => new TextDecoder().decode(corpusBytes(e.file)))
  .filter((t) => t.length < 20_000);

/** Parsing never throws: it gives a document xor error diagnostics. */
function parsesCleanly(text: string): void {
  const r = parseVibee(text, 'p.vibee');
  expect(r.document === null).toBe(r.diagnostics.length > 0);
  for (const d of r.diagnostics) {
    expect(d.code).toMatch(/^YAML\d{3}$/);
    expect(d.range.start.line).toBeGreaterThanOrEqual(1);
    expect(d.range.start.column).toBeGreaterThanOrEqual(1);
  }
}

// Random subset documents (what the language allows), printed as YAML text by hand.
const word = fc
  .stringMatching(/^[a-z][a-z0-9_]{0,8}$/)
  .filter((w) => !['null', 'true', 'false', 'y', 'n'].includes(w));
const scalarText = fc.oneof(
  word,
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.constantFrom(
    '1.5',
    '-0.25',
    '1e3',
    '.inf',
    '0x1F',
    '0o17',
    'true',
    'False',
    'null',
    '~',
    'yes',
    '1_000',
    '8K',
    '1.0.0',
    'a b c',
    'http://x.y/z',
    'a:b',
  ),
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.string({ maxLength: 8 }).map((s) => `'${s.replace(/[\n\r]/g, ' ').replaceAll("'", "''")}'`),
);
type Tree =
  | { kind: 's'; text: string }
  | { kind: 'm'; entries: [string, Tree][] }
  | { kind: 'q'; items: Tree[] }
  | { kind: 'f'; items: string[] }
  | { kind: 'b'; style: '|' | '>'; lines: string[] };
const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree; m: Tree }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarText.map((text) => ({ kind: 's', text }) as Tree),
    fc.array(scalarText, { maxLength: 4 }).map((items) => ({ kind: 'f', items }) as Tree),
    fc
      .record({
        style: fc.constantFrom('|', '>'),
        lines: fc.array(
          fc.oneof(
            word,
            fc.constant(''),
            word.map((w) => `  ${w}`),
          ),
          { minLength: 1, maxLength: 4 },
        ),
      })
      .map((b) => ({ kind: 'b', ...b }) as Tree),
    tie('m'),
    fc.array(tie('t'), { minLength: 1, maxLength: 3 }).map((items) => ({ kind: 'q', items }) as Tree),
  ),
  m: fc
    .uniqueArray(fc.tuple(word, tie('t')), { minLength: 1, maxLength: 4, selector: (e) => e[0] })
    .map((entries) => ({ kind: 'm', entries }) as Tree),
})).m;

function render(t: Tree, indent: string, out: string[], head: string): void {
  switch (t.kind) {
    case 's':
      out.push(`${head} ${t.text}`);
      return;
    case 'f':
      out.push(`${head} [${t.items.join(', ')}]`);
      return;
    case 'b':
      out.push(`${head} ${t.style}`, `${indent}  first`); // YAML fixes the indentation at the first line
      for (const l of t.lines.filter((x, i, a) => x !== '' || i < a.length - 1))
        out.push(l === '' ? '' : `${indent}  ${l}`);
      return;
    case 'm':
      out.push(head);
      for (const [k, v] of t.entries) render(v, `${indent}  `, out, `${indent}  ${k}:`);
      return;
    case 'q':
      out.push(head);
      for (const item of t.items) render(item, `${indent}  `, out, `${indent}  -`);
  }
}

function toText(t: Tree): string {
  const out: string[] = [];
  if (t.kind !== 'm') throw new Error('root must be a mapping');
  for (const [k, v] of t.entries) render(v, '', out, `${k}:`);
  return `${out.join('\n')}\n`;
}

/** Normalises for comparison with the oracle (NaN stays NaN via toEqual). */
function plain(text: string): PlainValue {
  const r = parseVibee(text, 'gen.vibee');
  expect(r.diagnostics.map((d) => `${d.range.start.line}:${d.range.start.column} ${d.message}`)).toEqual([]);
  return toPlainValue(r.document);
}

describe('properties', () => {
  it('random text only ever gives a document or diagnostics', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: 'binary' }), parsesCleanly), { numRuns: 3000 });
    fc.assert(fc.property(fc.stringMatching(/^[-:#[\]{}"' \n|>a1&*!,\t]{0,80}$/), parsesCleanly), {
      numRuns: 3000,
    });
  });

  it('random mutations of corpus files only ever give a document or diagnostics', () => {
    const mutation = fc.record({
      file: fc.integer({ min: 0, max: corpus.length - 1 }),
      at: fc.nat(),
      del: fc.nat({ max: 20 }),
      insert: fc.oneof(
        fc.string({ maxLength: 6 }),
        fc.constantFrom('\t', ' ', '\n', ':', '- ', '[', '{', '"', '#', '  ', '\n  x: 1', '|', '&a', '---\n'),
      ),
    });
    fc.assert(
      fc.property(mutation, ({ file, at, del, insert }) => {
        const text = corpus[file] as string;
        const i = at % (text.length + 1);
        parsesCleanly(text.slice(0, i) + insert + text.slice(i + del));
      }),
      { numRuns: 1500 },
    );
  });

  it('generated subset documents parse exactly as the yaml package (core schema) parses them', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const text = toText(t);
        expect(plain(text)).toEqual(YAML.parse(text, { schema: 'core' }));
      }),
      { numRuns: 2000 },
    );
  });

  it('print-then-parse gives the same value (generated documents and corpus files)', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const v = plain(toText(t));
        expect(plain(printVibee(v))).toEqual(v);
      }),
      { numRuns: 1000 },
    );
    for (const text of corpus) {
      const v = plain(text);
      expect(plain(printVibee(v))).toEqual(v);
    }
  });

  it('hand-written valid documents outside the corpus match the yaml oracle', () => {
    const docs = [
      'a: 1\nb:\n- x\n- y: 2\n  z: [1, {k: v}, "q"]\nc: |-\n  keep\n   more\n\nd: >\n  folded\n  text\n\n  para\n',
      "k: 'it''s'\nm: \"tab\\tnew\\nline \\u00e9 \\x41\"\nn: -.inf\no: 0o17\np: 0x1f\nq: 1e-3\nr: ~\ns: plain text # comment\n",
      'outer:\n    deep:\n        - - 1\n          - 2\n        - {}\n        - []\n    next: x\n  # comment at odd column\nlast: multi\n  line\n\n  plain\n',
      `${'"quoted key": 1\n? not: used\n'.split('?')[0]}'single': [a: 1, b]\nseq:\n  -\n  - null\n  - ''\n`,
      'a: "x" # c\nb: [a, b, ]\nc: {a: 1, b}\nd: -5\ne: +5\nf: .5\ng: 5.\nh: True\ni: NULL\n',
    ];
    for (const text of docs) expect(plain(text)).toEqual(YAML.parse(text, { schema: 'core' }));
  });
});
