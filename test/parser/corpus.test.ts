import { describe, expect, it } from 'vitest';
import { parseVibee } from '../../generator/parse/parse-vibee.js';
import { toPlainValue } from '../../generator/parse/to-plain.js';
import { corpusBytes, expectedJson, loadCorpus } from './corpus.js';

// Fails loudly (loadCorpus throws at collection time) when the corpus is missing.
const entries = loadCorpus();

describe('corpus (../shared/corpus/vibee)', () => {
  it('holds the 233 files of EXPECTED.tsv', () => {
    expect(entries.length).toBe(233);
  });

  for (const entry of entries) {
    it(`${entry.outcome}: ${entry.file}`, () => {
      const result = parseVibee(corpusBytes(entry.file), entry.file);
      if (entry.outcome === 'reject') {
        expect(result.document).toBeNull();
        const lines = entry.detail.split(',').map(Number);
        const first = result.diagnostics[0];
        expect(first, 'a reject file must produce a diagnostic').toBeDefined();
        expect(lines).toContain(first?.range.start.line);
      } else {
        expect(
          result.diagnostics.map((d) => `${d.range.start.line}:${d.range.start.column} ${d.message}`),
        ).toEqual([]);
        expect(toPlainValue(result.document)).toEqual(expectedJson(entry.file));
      }
    });
  }
});
