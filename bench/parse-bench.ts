/**
 * `npm run bench:parse`: parses the accepted corpus files repeatedly with our parser, `yaml` and
 * `js-yaml` (same files, same run), after a warm-up, and prints the median MB/s of several rounds.
 * Corpus: `$VIBEE_CORPUS` or `../shared/corpus/vibee` beside the repository.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jsyaml from 'js-yaml';
import YAML from 'yaml';
import { parseVibee } from '../generator/parse/parse-vibee.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
const corpusDir = process.env.VIBEE_CORPUS ?? path.resolve(repoRoot, '../shared/corpus/vibee');
const rows = readFileSync(path.join(corpusDir, 'EXPECTED.tsv'), 'utf8').split('\n').slice(1).filter(Boolean);
// Files every parser accepts (strict YAML), so the three do the same work.
const texts = rows
  .map((r) => r.split('\t'))
  .filter((r) => r[1] === 'accept')
  .map((r) => readFileSync(path.join(corpusDir, 'files', r[0] as string), 'utf8'));
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);

const parsers: [string, (t: string) => unknown][] = [
  ['vibee (peggy)', (t) => parseVibee(t, 'bench.vibee')],
  ['yaml', (t) => YAML.parse(t, { schema: 'core' })],
  ['js-yaml', (t) => jsyaml.load(t)],
];

function once(fn: (t: string) => unknown): number {
  const start = performance.now();
  for (const t of texts) fn(t);
  return (performance.now() - start) / 1000;
}

console.log(`corpus: ${texts.length} files, ${(bytes / 1e6).toFixed(2)} MB; ${rounds} rounds after warm-up; median MB/s`);
for (const [name, fn] of parsers) {
  once(fn);
  once(fn);
  const mbps = Array.from({ length: rounds }, () => bytes / 1e6 / once(fn)).sort((a, b) => a - b);
  console.log(`${name.padEnd(14)} ${(mbps[Math.floor(mbps.length / 2)] as number).toFixed(2).padStart(8)} MB/s  (min ${(mbps[0] as number).toFixed(2)}, max ${(mbps[mbps.length - 1] as number).toFixed(2)})`);
}
