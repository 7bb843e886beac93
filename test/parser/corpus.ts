/**
 * Locates the shared `.vibee` corpus for the parser tests. The suite must fail (not skip) when it is
 * missing, so `loadCorpus` throws with the paths it tried.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (two levels above this file). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Corpus folder: `$VIBEE_CORPUS`, or `../shared/corpus/vibee` beside the repository. */
export const corpusDir = process.env.VIBEE_CORPUS ?? path.resolve(repoRoot, '../shared/corpus/vibee');

/** One row of EXPECTED.tsv. */
export interface CorpusEntry {
  file: string;
  outcome: 'accept' | 'accept-lenient' | 'reject';
  detail: string;
}

/** Reads EXPECTED.tsv; throws when the corpus is missing. */
export function loadCorpus(): CorpusEntry[] {
  const tsv = path.join(corpusDir, 'EXPECTED.tsv');
  if (!existsSync(tsv)) {
    throw new Error(`the .vibee corpus is missing: ${tsv} not found (set VIBEE_CORPUS to the corpus folder)`);
  }
  const rows = readFileSync(tsv, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '');
  return rows.map((row) => {
    const [file = '', outcome = '', detail = ''] = row.split('\t');
    return { file, outcome: outcome as CorpusEntry['outcome'], detail };
  });
}

/** Bytes of a corpus file. */
export function corpusBytes(file: string): Uint8Array {
  return readFileSync(path.join(corpusDir, 'files', file));
}

/** Expected plain value of an accepted corpus file. */
export function expectedJson(file: string): unknown {
  return JSON.parse(
    readFileSync(path.join(corpusDir, 'expected', file.replace(/\.vibee$/, '.json')), 'utf8'),
  );
}
