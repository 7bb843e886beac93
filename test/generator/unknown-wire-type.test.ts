/**
 * With `allowUnknownTypes` an unknown type is a warning, but a wire record cannot carry it: that is
 * an error diagnostic (not an exception from emission), and the CLI prints it and exits 1.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../generator/cli/vibee.js';
import { generate } from '../../generator/index.js';
import { captureIo } from './cli-io.js';

const SPEC = `name: demo
version: "1.0.0"
language: typescript
module: demo
types:
  Msg:
    wire: { group: net, tag: 1 }
    fields:
      payload: Foo
`;

describe('unknown type in a wire record with allowUnknownTypes', () => {
  it('generate() returns a diagnostic instead of throwing', () => {
    let r: ReturnType<typeof generate> | undefined;
    expect(() => {
      r = generate([{ fileName: 'demo.vibee', text: SPEC }], { allowUnknownTypes: true, typecheck: false });
    }).not.toThrow();
    expect(r?.diagnostics.some((d) => d.severity === 'error' && d.range.start.line === 9)).toBe(true);
  });

  it('the CLI exits 1 with a located diagnostic, not "internal error" / exit 2', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vibee-gen-unk-'));
    const file = path.join(dir, 'demo.vibee');
    writeFileSync(file, SPEC);
    const io = captureIo();
    const code = await main(['generate', file, '--out', path.join(dir, 'out'), '--allow-unknown-types'], io);
    expect(io.err).not.toMatch(/internal error/);
    expect(io.err).toMatch(/demo\.vibee:9:\d+: error\[VIB\d{3}\]/);
    expect(code).toBe(1);
  });
});
