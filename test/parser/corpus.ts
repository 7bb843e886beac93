/**
 * Locates the shared `.vibee` corpus for the parser tests. The suite must fail (not skip) when it is
 * missing, so `loadCorpus` throws with the paths it tried.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (two levels above this file). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The folder of the repository this checkout was cloned from, when that is a local path. */
function localOrigin(): string | null {
  try {
    const url = execFileSync('git', ['-C', repoRoot, 'config', '--get', 'remote.origin.url'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dir = url.startsWith('file://') ? fileURLToPath(url) : url;
    return path.isAbsolute(dir) && existsSync(dir) ? dir : null;
  } catch {
    return null;
  }
}

/**
 * Where the corpus may be: `$VIBEE_CORPUS` alone when set; else `../shared/corpus/vibee` beside
 * the repository, then beside the local repository it was cloned from (a scratch clone such as
 * `git clone . /tmp/x` finds the same corpus as the checkout it came from).
 */
export const corpusCandidates: string[] = process.env.VIBEE_CORPUS
  ? [process.env.VIBEE_CORPUS]
  : [repoRoot, localOrigin()]
      .filter((d): d is string => d !== null)
      .map((d) => path.resolve(d, '../shared/corpus/vibee'));

/** Corpus folder: the first candidate that holds EXPECTED.tsv (the first one when none does). */
export const corpusDir =
  corpusCandidates.find((d) => existsSync(path.join(d, 'EXPECTED.tsv'))) ?? (corpusCandidates[0] as string);

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
    throw new Error(
      `the .vibee corpus is missing: no EXPECTED.tsv in ${corpusCandidates.join(' or ')} (set VIBEE_CORPUS to the corpus folder)`,
    );
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
