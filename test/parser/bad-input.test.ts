import { describe, expect, it } from 'vitest';
import { parseVibee } from '../../generator/parse/parse-vibee.js';
import { toPlainValue } from '../../generator/parse/to-plain.js';

/** Parses and returns the first diagnostic as `LINE:COL CODE`, plus its message. */
function firstError(text: string | Uint8Array) {
  const r = parseVibee(text, 'bad.vibee');
  expect(r.document).toBeNull();
  const d = r.diagnostics[0];
  expect(d).toBeDefined();
  return {
    at: `${d?.range.start.line}:${d?.range.start.column}`,
    code: d?.code,
    message: d?.message ?? '',
    all: r.diagnostics,
  };
}

describe('bad input: each error pins line, column and message', () => {
  it('TAB indentation', () => {
    const e = firstError('a:\n\tb: 1\n');
    expect([e.at, e.code]).toEqual(['2:1', 'YAML001']);
    expect(e.message).toMatch(/TAB character in indentation/);
  });
  it('TAB after spaces in indentation', () => {
    expect(firstError('a:\n  \tb: 1\n').at).toBe('2:3');
  });
  it('unterminated double quote', () => {
    const e = firstError('name: x\ntitle: "abc\nnext: 1\n');
    expect([e.at, e.code]).toEqual(['2:8', 'YAML011']);
    expect(e.message).toMatch(/unterminated double-quoted string/);
  });
  it('unterminated single quote', () => {
    expect(firstError("a: 'abc\n")).toMatchObject({ at: '1:4', code: 'YAML011' });
  });
  it('odd indentation (a deeper line after a complete entry)', () => {
    const e = firstError('a:\n  b: [1]\n   c: 2\n');
    expect([e.at, e.code]).toEqual(['3:4', 'YAML012']);
    expect(e.message).toMatch(/unexpected indentation/);
  });
  it('inconsistent indentation (between two levels)', () => {
    const e = firstError('a:\n    b: 1\n  c: 2\n');
    expect([e.at, e.code]).toEqual(['3:3', 'YAML012']);
    expect(e.message).toMatch(/expected 0 spaces/);
  });
  it('duplicate key names the first', () => {
    const e = firstError('a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n');
    expect([e.at, e.code]).toEqual(['5:3', 'YAML014']);
    expect(e.message).toBe('duplicate key `x`: first defined at 3:3');
  });
  it('`key = value`', () => {
    const e = firstError('a: 1\nname = "x"\n');
    expect([e.at, e.code]).toEqual(['2:6', 'YAML016']);
    expect(e.message).toMatch(/`key = value` is not valid: write `key: value`/);
  });
  it('nested block under a scalar', () => {
    const e = firstError('a: hello\n  b: 1\n');
    expect([e.at, e.code]).toEqual(['2:3', 'YAML021']);
    expect(e.message).toMatch(/nested block under a scalar/);
  });
  it('nested block under a quoted scalar', () => {
    const e = firstError('a: "hello"\n  b: 1\n');
    expect([e.at, e.code]).toEqual(['2:3', 'YAML021']);
  });
  it('L3 value ending in `:` with a deeper block under it', () => {
    const e = firstError('a:\n  - action: for_each:\n      - x\n');
    expect([e.at, e.code]).toEqual(['3:7', 'YAML021']);
  });
  it('unclosed `[`', () => {
    const e = firstError('a: [1, 2\nb: 3\n');
    expect([e.at, e.code]).toEqual(['1:9', 'YAML024']);
    expect(e.message).toMatch(/unclosed `\[` \(opened at 1:4\)/);
  });
  it('unclosed `{`', () => {
    const e = firstError('a: {x: 1\n');
    expect([e.at, e.code]).toEqual(['1:9', 'YAML024']);
    expect(e.message).toMatch(/unclosed `\{` \(opened at 1:4\)/);
  });
  it('stray `]`', () => {
    const e = firstError('a: ]\n');
    expect([e.at, e.code]).toEqual(['1:4', 'YAML025']);
    expect(e.message).toMatch(/unexpected `\]`/);
  });
  it('stray `}` after a flow collection', () => {
    const e = firstError('a: {x: 1}}\n');
    expect([e.at, e.code]).toEqual(['1:10', 'YAML020']);
    expect(e.message).toMatch(/unexpected text after a flow collection: `\}`/);
  });
  it('anchor, alias and tag', () => {
    expect(firstError('a: &x 1\n')).toMatchObject({ at: '1:4', code: 'YAML043' });
    expect(firstError('a: *x\n')).toMatchObject({ at: '1:4', code: 'YAML044' });
    expect(firstError('a: !t 1\n')).toMatchObject({ at: '1:4', code: 'YAML045' });
    expect(firstError('a: [1, &x 2]\n')).toMatchObject({ at: '1:8', code: 'YAML043' });
    expect(firstError('a: 1\n&x b: 2\n').message).toMatch(/anchors/);
  });
  it('a second document', () => {
    const e = firstError('a: 1\n---\nb: 2\n');
    expect([e.at, e.code]).toEqual(['2:1', 'YAML040']);
    expect(e.message).toMatch(/a second document/);
  });
  it('a leading `---` is one document, not an error', () => {
    expect(toPlainValue(parseVibee('---\na: 1\n', 'x').document)).toEqual({ a: 1 });
  });
  it('invalid UTF-8', () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('a: 1\nbé: '), 0xff, 0x0a]);
    const e = firstError(bytes);
    expect([e.at, e.code]).toEqual(['2:5', 'YAML002']);
    expect(e.message).toMatch(/invalid UTF-8: byte 0xff/);
  });
  it('NUL bytes', () => {
    const e = firstError('a: 1\nb: x\0y\n');
    expect([e.at, e.code]).toEqual(['2:5', 'YAML003']);
    expect(e.message).toMatch(/NUL byte/);
  });
  it('empty file', () => {
    const e = firstError('');
    expect([e.at, e.code]).toEqual(['1:1', 'YAML004']);
    expect(e.message).toMatch(/the file is empty/);
  });
  it('a file of only comments', () => {
    const e = firstError('# one\n  # two\n\n');
    expect([e.at, e.code]).toEqual(['4:1', 'YAML004']);
    expect(e.message).toMatch(/only comments/);
  });
  it('columns count code points (astral characters before the error)', () => {
    expect(firstError('a: "😀😀" x: &y\nb: &z 1\n').at).toBe('2:4');
    expect(firstError('a: [😀, &x]\n').at).toBe('1:8');
  });
  it('collects all errors of a file', () => {
    const e = firstError('a: 1\nb = 2\nc: 3\nd = 4\ne: [\n');
    expect(e.all.map((d) => `${d.range.start.line}:${d.code}`)).toEqual([
      '2:YAML016',
      '4:YAML016',
      '5:YAML024',
    ]);
  });
  it('root that is not a mapping', () => {
    expect(firstError('# c\n\nJust some prose here.\n')).toMatchObject({ at: '3:1', code: 'YAML017' });
    expect(firstError('- a\n- b\n')).toMatchObject({ at: '1:1', code: 'YAML015' });
  });
});

describe('big and deep input: no crash, no hang', () => {
  it('a 10 MB file parses', () => {
    const entry =
      'item_%:\n  name: "value %"\n  list: [1, 2.5, true, null, x]\n  text: |\n    line one\n    line two\n';
    const parts: string[] = [];
    let size = 0;
    for (let i = 0; size < 10_000_000; i++) {
      const s = entry.replaceAll('%', String(i));
      parts.push(s);
      size += s.length;
    }
    const r = parseVibee(parts.join(''), 'big.vibee');
    expect(r.diagnostics).toEqual([]);
    const v = toPlainValue(r.document) as Record<string, unknown>;
    expect(Object.keys(v).length).toBe(parts.length);
    expect(v.item_7).toEqual({
      name: 'value 7',
      list: [1, 2.5, true, null, 'x'],
      text: 'line one\nline two\n',
    });
  });
  it('1,000 levels of flow nesting', () => {
    const r = parseVibee(`a: ${'['.repeat(1000)}${']'.repeat(1000)}\n`, 'deep.vibee');
    expect(r.diagnostics).toEqual([]);
    let v = (toPlainValue(r.document) as { a: unknown }).a;
    let depth = 0;
    while (Array.isArray(v)) {
      depth++;
      v = v[0];
    }
    expect(depth).toBe(1000);
  });
  it('1,000 levels of block mapping nesting parse (no stack overflow)', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}k${i}:`);
    const r = parseVibee(`${lines.join('\n')} end\n`, 'deep.vibee');
    expect(r.diagnostics).toEqual([]);
    let v = toPlainValue(r.document) as unknown;
    for (let i = 0; i < 1000; i++) v = (v as Record<string, unknown>)[`k${i}`];
    expect(v).toBe('end');
  });
  it('1,000 levels of block sequence nesting parse, on separate lines and compact (`- - -`)', () => {
    // The root mapping is one level: 999 sequences under it make 1,000.
    const lines = Array.from({ length: 999 }, (_, i) => `${' '.repeat(2 * i)}-`);
    const separate = parseVibee(`a:\n${lines.join('\n')} x\n`, 'deep.vibee');
    const compact = parseVibee(`a:\n${'- '.repeat(999)}x\n`, 'deep.vibee');
    for (const r of [separate, compact]) {
      expect(r.diagnostics).toEqual([]);
      let v = (toPlainValue(r.document) as { a: unknown }).a;
      let depth = 0;
      while (Array.isArray(v)) {
        depth++;
        v = v[0];
      }
      expect([depth, v]).toEqual([999, 'x']);
    }
  });
  it('one level more than maxDepth is a located diagnostic', () => {
    const e = firstError(`a:\n${'- '.repeat(1000)}x\n`);
    expect([e.at, e.code]).toEqual(['2:1999', 'YAML030']);
    expect(e.message).toBe('nesting too deep (more than 1000 levels)');
    expect(
      parseVibee(`a:\n${'- '.repeat(10)}x\n`, 'd', { maxDepth: 5 }).diagnostics.map((d) => d.code),
    ).toEqual(['YAML030']);
  });
  it('100,000 levels of block nesting give a nesting diagnostic, not a stack overflow', () => {
    const e = firstError(`a:\n${'- '.repeat(100_000)}x\n`);
    expect(e.code).toBe('YAML030');
    // Even with the depth limit lifted, running out of stack is a diagnostic, never a throw.
    const r = parseVibee(`a:\n${'- '.repeat(100_000)}x\n`, 'deep.vibee', { maxDepth: 1e9 });
    expect(r.document).toBeNull();
    expect(r.diagnostics.map((d) => [d.code, d.message.slice(0, 18)])).toEqual([
      ['YAML030', 'nesting too deep: '],
    ]);
  });
  it('10,000 levels give a nesting diagnostic, not a stack overflow', () => {
    const e = firstError(`a: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`);
    expect(e.code).toBe('YAML030');
    expect(e.message).toMatch(/nesting too deep/);
  });
  it('100,000 levels of flow nesting give a nesting diagnostic', () => {
    const e = firstError(`a: ${'{x: '.repeat(100_000)}1${'}'.repeat(100_000)}\n`);
    expect([e.code, e.message]).toEqual(['YAML030', 'nesting too deep (more than 1000 levels)']);
  });
  it('a 1 MB single line parses', () => {
    const long = 'x'.repeat(1_000_000);
    const r = parseVibee(`a: ${long}\n`, 'long.vibee');
    expect((toPlainValue(r.document) as { a: string }).a.length).toBe(1_000_000);
    const q = parseVibee(`a: "${long}"\n`, 'long.vibee');
    expect((toPlainValue(q.document) as { a: string }).a.length).toBe(1_000_000);
  });
  it('a 1 MB single line with an error reports it', () => {
    const e = firstError(`a: [${'1, '.repeat(300_000)}\n`);
    expect(e.code).toBe('YAML024');
  });
});
