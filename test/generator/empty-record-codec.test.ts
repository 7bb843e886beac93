/**
 * Lists and maps of a field-less record round-trip: such an element encodes to zero bytes, so its
 * count is bounded by MAX_ZERO_SIZE_ITEMS instead of by the bytes left in the frame.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { generate, hasErrors } from '../../generator/index.js';

const SPEC = `name: demo
version: "1.0.0"
language: typescript
module: demo
types:
  Marker:
    fields: {}
  Holder:
    wire: { group: record, tag: 1 }
    fields:
      markers: List<Marker>
  Index:
    wire: { group: record, tag: 2 }
    fields:
      by_name: Map<Bool, Marker>
`;

it('List<Empty> and Map<K, Empty> round-trip', async () => {
  const r = generate([{ fileName: 'demo.vibee', text: SPEC }], {
    runtimeImport: path.resolve('runtime/wire/v1.js'),
  });
  expect(hasErrors(r.diagnostics)).toBe(false);
  const dir = mkdtempSync(path.join(tmpdir(), 'vibee-gen-codec-'));
  for (const f of r.files) writeFileSync(path.join(dir, f.path), f.content);
  const m = (await import(path.join(dir, 'codecs.ts'))) as {
    encodeHolder(x: unknown): Uint8Array;
    decodeHolder(b: Uint8Array): unknown;
    encodeIndex(x: unknown): Uint8Array;
    decodeIndex(b: Uint8Array): unknown;
  };
  expect(m.decodeHolder(m.encodeHolder({ markers: [] }))).toEqual({ markers: [] });
  // Each of these throws DecodeError: count N exceeds the remaining ... bytes.
  const x = { markers: [{}, {}] };
  expect(() => m.decodeHolder(m.encodeHolder(x))).not.toThrow();
  const y = {
    byName: new Map([
      [true, {}],
      [false, {}],
    ]),
  };
  expect(() => m.decodeIndex(m.encodeIndex(y))).not.toThrow();
});
