/**
 * Generality: every corpus spec that parses goes through validation and generation; the emitted
 * TypeScript of every spec that validates is written to a temp dir and type-checked (strict, in one
 * in-memory program). Counts are printed; the property is that everything that validates compiles.
 * Corpus location: as the parser's corpus tests find it (test/parser/corpus.ts).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasErrors } from '../../generator/diagnostics.js';
import type { EmittedFile } from '../../generator/emit/emit.js';
import { generate, typecheckFiles } from '../../generator/emit/generate.js';
import { parseVibee } from '../../generator/parse/parse-vibee.js';
import { validateSpec } from '../../generator/spec/validate.js';
import { corpusDir } from '../parser/corpus.js';

const corpus = corpusDir;
const filesDir = existsSync(path.join(corpus, 'files')) ? path.join(corpus, 'files') : corpus;
const tmp = mkdtempSync(path.join(tmpdir(), 'vibee-corpus-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function listSpecs(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.vibee')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

describe.skipIf(!existsSync(filesDir))('corpus generality', () => {
  it('every corpus spec that validates emits TypeScript that type-checks', () => {
    const specs = listSpecs(filesDir);
    let parsed = 0;
    let strictValid = 0;
    const lenient: { rel: string; text: string }[] = [];
    const strictFailures = new Map<string, number>();
    for (const file of specs) {
      const text = readFileSync(file, 'utf8');
      const rel = path.relative(filesDir, file);
      if (!parseVibee(text, rel).document) continue;
      parsed++;
      const strict = validateSpec({ fileName: rel, text });
      if (strict.model) strictValid++;
      else
        for (const d of strict.diagnostics)
          if (d.severity === 'error') strictFailures.set(d.code, (strictFailures.get(d.code) ?? 0) + 1);
      if (validateSpec({ fileName: rel, text }, { allowUnknownTypes: true }).model)
        lenient.push({ rel, text });
    }
    // Generate each (unknown names -> `unknown`, with a warning), into its own folder of one temp dir.
    const batch: EmittedFile[] = [];
    lenient.forEach(({ rel, text }, i) => {
      const g = generate([{ fileName: rel, text }], {
        allowUnknownTypes: true,
        typecheck: false,
        runtimeImport: '../../runtime/wire/v1.js',
      });
      expect(hasErrors(g.diagnostics), rel).toBe(false);
      for (const f of g.files) {
        const p = `spec${i}/${f.path}`;
        batch.push({ path: p, content: f.content });
        mkdirSync(path.dirname(path.join(tmp, p)), { recursive: true });
        writeFileSync(path.join(tmp, p), f.content);
      }
    });
    const errors = typecheckFiles(batch, '../runtime/wire/v1.js');
    const failedSpecs = new Set(
      errors.map((e) => lenient[Number(/^spec(\d+)\//.exec(e.path)?.[1] ?? -1)]?.rel ?? e.path),
    );
    console.log(
      `corpus: ${specs.length} files, ${parsed} parse; ${strictValid} validate strictly (unknown types are errors), ` +
        `${lenient.length} validate with unknown types as warnings; ${lenient.length - failedSpecs.size} of those type-check. ` +
        `strict failures by code: ${JSON.stringify(Object.fromEntries([...strictFailures].sort()))}`,
    );
    expect(errors.slice(0, 5)).toEqual([]);
    expect(parsed).toBeGreaterThan(0);
    expect(lenient.length).toBeGreaterThan(0);
  });

  it('the batch type check does catch a broken file (control)', () => {
    const errors = typecheckFiles(
      [
        {
          path: 'a/x.ts',
          content:
            "import { Writer } from '../../runtime/wire/v1.js';\nexport const w: string = new Writer();\n",
        },
        { path: 'b/y.ts', content: 'export const ok: number = 1;\n' },
      ],
      '../runtime/wire/v1.js',
    );
    expect(errors.map((e) => `${e.path}:${e.line}`)).toEqual(['a/x.ts:2']);
  });
});
