/**
 * `npm run bench:parse`: parses the accepted corpus files repeatedly with our parser, `yaml` and
 * `js-yaml` (same files, same process) and prints the median MB/s of several rounds.
 *
 * Fairness: every parser is warmed up first; then each round runs the parsers one after the other
 * in a rotating order, so a slow spell of a shared machine hits all of them alike. (No forced
 * garbage collection between passes: it shrinks V8's young generation and then penalises the
 * parser that allocates most, which is not how a long-running process sees it.) The ratio
 * `vibee / js-yaml` is computed per round (same spell) and its median printed too.
 * Corpus: `$VIBEE_CORPUS` or `../shared/corpus/vibee` beside the repository. `BENCH_ROUNDS` sets
 * the number of measured rounds (default 15).
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
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);

const parsers: [string, (t: string) => unknown][] = [
  [
    'vibee (peggy)',
    (t) => {
      const r = parseVibee(t, 'bench.vibee');
      if (r.document === null)
        throw new Error(`bench: our parser rejected a corpus file: ${r.diagnostics[0]?.message}`);
      return r;
    },
  ],
  ['yaml', (t) => YAML.parse(t, { schema: 'core' })],
  ['js-yaml', (t) => jsyaml.load(t)],
];

/** Seconds to parse every corpus text once. */
function once(fn: (t: string) => unknown): number {
  const start = performance.now();
  for (const t of texts) fn(t);
  return (performance.now() - start) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

console.log(
  `corpus: ${texts.length} files, ${(bytes / 1e6).toFixed(2)} MB; ${rounds} interleaved rounds after warm-up; median MB/s`,
);
// Warm-up: interleaved like the measured rounds, at least 5 passes each and 2 s in all.
for (let pass = 0, spent = 0; pass < 5 || spent < 2; pass++) for (const [, fn] of parsers) spent += once(fn);
const mbps: number[][] = parsers.map(() => []);
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < parsers.length; k++) {
    const p = (round + k) % parsers.length;
    (mbps[p] as number[]).push(bytes / 1e6 / once((parsers[p] as [string, (t: string) => unknown])[1]));
  }
}
parsers.forEach(([name], p) => {
  const xs = mbps[p] as number[];
  console.log(
    `${name.padEnd(14)} ${median(xs).toFixed(2).padStart(8)} MB/s  (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`,
  );
});
const ours = mbps[0] as number[];
const jy = mbps[parsers.length - 1] as number[];
console.log(
  `vibee / js-yaml: ${median(ours.map((x, i) => x / (jy[i] as number))).toFixed(2)}x (median of per-round ratios)`,
);
