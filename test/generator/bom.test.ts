/**
 * A UTF-8 byte order mark at the start of a spec is not content: indentation and the columns of
 * line 1 are counted without it (it used to shift line 1 by one, so every later top-level key was
 * rejected), in parseVibee, validateSpec and the CLI alike.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../generator/cli/vibee.js';
import { parseVibee, toJson, validateSpec } from '../../generator/index.js';
import { captureIo } from './cli-io.js';

const BOM = new Uint8Array([0xef, 0xbb, 0xbf]);
const bytes = (s: string, bom: boolean) => {
  const body = new TextEncoder().encode(s);
  if (!bom) return body;
  const out = new Uint8Array(BOM.length + body.length);
  out.set(BOM);
  out.set(body, BOM.length);
  return out;
};

describe('BOM', () => {
  it('parseVibee(bytes with a BOM) parses like the same bytes without it', () => {
    const src = 'a: 1\nb: 2\n';
    const plain = parseVibee(bytes(src, false), 'x.vibee');
    const withBom = parseVibee(bytes(src, true), 'x.vibee');
    expect(plain.diagnostics).toEqual([]);
    expect(withBom.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
    expect(toJson(withBom.document)).toBe(toJson(plain.document));
  });

  it('columns on line 1 do not count the BOM', () => {
    const src = 'a = 1\n';
    const plain = parseVibee(bytes(src, false), 'x.vibee').diagnostics[0];
    const withBom = parseVibee(bytes(src, true), 'x.vibee').diagnostics[0];
    expect(plain?.range.start.column).toBe(3);
    expect(withBom?.range.start.column).toBe(3);
  });

  it('validateSpec/generate accept a spec text read with readFileSync(f, "utf8") (BOM kept)', () => {
    const text = '\uFEFFname: t\nversion: 1.0.0\nlanguage: typescript\nmodule: t\n';
    const r = validateSpec({ fileName: 't.vibee', text });
    expect(
      r.diagnostics.map((d) => `${d.range.start.line}:${d.range.start.column} ${d.code} ${d.message}`),
    ).toEqual([]);
  });

  it('`vibee parse FILE` exits 0 for a file saved with a BOM', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vibee-bom-'));
    const file = path.join(dir, 'bom.vibee');
    writeFileSync(file, bytes('name: t\nversion: 1\n', true));
    const io = captureIo();
    const code = await main(['parse', file], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
  });
});
