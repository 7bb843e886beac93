/**
 * Specs whose generated code could not compile are refused by `vibee validate` already, at the
 * spec line that causes it, not only by the type check of `generate` (VIB029, often at 1:1), which
 * `--no-typecheck` skips.
 */
import { describe, expect, it } from 'vitest';
import { generate, validateSpec } from '../../generator/index.js';

const HEAD = 'name: demo\nversion: "1.0.0"\nlanguage: typescript\nmodule: demo\n';
const validateErrors = (text: string) =>
  validateSpec({ fileName: 'demo.vibee', text }).diagnostics.filter((d) => d.severity === 'error');

const CASES: [string, string][] = [
  [
    'an enum with `variants: []` (emits `export type Kind = ;`)',
    `${HEAD}types:\n  Kind:\n    variants: []\n`,
  ],
  ['a constant named CONSTANTS (redeclares the CONSTANTS export)', `${HEAD}constants:\n  CONSTANTS: 1\n`],
  [
    'a wire type named Reader (clashes with the runtime import in codecs.ts)',
    `${HEAD}types:\n  Reader:\n    wire: { group: record, tag: 1 }\n    fields:\n      id: UInt\n`,
  ],
  [
    'two enums that differ only in case (both emit HTTP_CODE_VALUES)',
    `${HEAD}types:\n  HTTPCode:\n    enum: [a]\n  HttpCode:\n    enum: [b]\n`,
  ],
];

describe('validate rejects what cannot be generated', () => {
  for (const [what, text] of CASES) {
    it(what, () => {
      const errors = validateErrors(text);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((d) => d.range.start.line > 4)).toBe(true); // located in the spec body
      expect(generate([{ fileName: 'demo.vibee', text }], { typecheck: false }).files).toEqual([]);
    });
  }
});

describe('spec name in generated comments', () => {
  it('a spec name containing `*/` does not end the comment and inject code', () => {
    const text =
      'name: "x */ export const injected = 1; /* y"\nversion: "1.0.0"\nlanguage: typescript\nmodule: demo\n';
    const g = generate([{ fileName: 'demo.vibee', text }], { typecheck: false });
    const constants = g.files.find((f) => f.path === 'constants.ts')?.content ?? '';
    expect(constants).not.toMatch(/\*\/ export const injected = 1;/);
  });
});
