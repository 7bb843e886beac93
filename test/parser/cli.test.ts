import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../generator/cli/io.js';
import { main } from '../../generator/cli/vibee.js';

function memoryIo(files: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
    readFile: async (p) => {
      const t = files[p];
      if (t === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return new TextEncoder().encode(t);
    },
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

describe('vibee parse', () => {
  it('prints the JSON value with keys in source order (integer-like keys too) and exits 0', async () => {
    const m = memoryIo({ 'a.vibee': 'name: x\n48: big\n2: small\nn: 123456789012345678901\n' });
    expect(await main(['parse', 'a.vibee', '--json'], m.io)).toBe(0);
    expect(m.out()).toBe(
      '{\n  "name": "x",\n  "48": "big",\n  "2": "small",\n  "n": 123456789012345678901\n}\n',
    );
    expect(m.err()).toBe('');
  });
  it('prints JSON Lines for several files', async () => {
    const m = memoryIo({ 'a.vibee': 'a: 1\n', 'b.vibee': 'b: [x]\n' });
    expect(await main(['parse', '--json', 'a.vibee', 'b.vibee'], m.io)).toBe(0);
    expect(m.out()).toBe('{"a":1}\n{"b":["x"]}\n');
  });
  it('reports every error as FILE:LINE:COL: error[CODE]: MESSAGE with source line and caret, exit 1', async () => {
    const m = memoryIo({ 'bad.vibee': 'a: 1\nb = 2\nc: [1\n', 'ok.vibee': 'x: 1\n' });
    expect(await main(['parse', 'bad.vibee', 'ok.vibee'], m.io)).toBe(1);
    expect(m.err()).toBe(
      [
        'bad.vibee:2:3: error[YAML016]: `key = value` is not valid: write `key: value`',
        '  b = 2',
        '    ^',
        'bad.vibee:3:6: error[YAML024]: unclosed `[` (opened at 3:4): expected `,` or `]` before the end of the line (flow collections are single-line)',
        '  c: [1',
        '       ^',
        '',
      ].join('\n'),
    );
    expect(m.out()).toBe('ok.vibee: ok\n');
    expect(m.err()).not.toMatch(/\n\s+at /);
  });
  it('a missing file is an error, not a crash', async () => {
    const m = memoryIo({});
    expect(await main(['parse', 'nope.vibee'], m.io)).toBe(1);
    expect(m.err()).toBe('nope.vibee:1:1: error[YAML000]: cannot read file (ENOENT)\n');
  });
  it('usage errors exit non-zero without a stack trace', async () => {
    const m = memoryIo({});
    expect(await main(['parse'], m.io)).not.toBe(0);
    expect(m.err()).toMatch(/missing required argument/);
  });
});
