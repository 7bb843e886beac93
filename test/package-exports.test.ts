/**
 * The package's public entry points (CONTRACT.md) resolve by name from the built package and
 * export what users and outside tests rely on. `npm test` builds before running the suite.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

it.each([
  ['vibee-consensus', ['createNode', 'connect', 'FenceGuard', 'IndeterminateError', 'CoordinationError']],
  [
    'vibee-consensus/generated',
    ['encodeRaftMessage', 'decodeRaftMessage', 'createNodeRoleMachine', 'SPEC_TESTS'],
  ],
  ['vibee-consensus/generator', ['generate', 'parseVibee', 'formatDiagnostic']],
  ['vibee-consensus/sim', ['createWorld', 'SimDisk', 'Prng']],
  ['vibee-consensus/check', ['checkLinearizability', 'kvModel', 'fencedLockModel']],
  ['vibee-consensus/wire', ['Reader', 'Writer', 'DecodeError', 'createMachine']],
])('%s exports %j', async (entry, names) => {
  const m = (await import(/* @vite-ignore */ entry)) as Record<string, unknown>;
  for (const name of names) expect(typeof m[name], `${entry}.${name}`).toMatch(/function|object/);
});

it('the packed tarball holds every export and bin, and no source maps or stray files', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { types: string; default: string }>;
    bin: Record<string, string>;
  };
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const files = new Set(
    (JSON.parse(out.toString()) as [{ files: { path: string }[] }])[0].files.map((f) => f.path),
  );
  const needed = [
    ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : [e.types, e.default])),
    ...Object.values(pkg.bin),
  ].map((p) => p.replace(/^\.\//, ''));
  expect(needed.filter((p) => !files.has(p))).toEqual([]);
  const stray = [...files].filter(
    (p) =>
      p.endsWith('.map') ||
      p.startsWith('dist/consumer-') ||
      !(
        p.startsWith('dist/') ||
        ['package.json', 'README.md', 'LICENSE'].includes(p) ||
        p.startsWith('specs/')
      ),
  );
  expect(stray).toEqual([]);
});
