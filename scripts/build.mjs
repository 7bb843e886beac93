#!/usr/bin/env node
// Build: compile the peggy grammars (never at run time), then TypeScript, then copy the
// compiled grammars next to the emitted JavaScript. Each step fails the build loudly.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

// 1. grammar/*.peggy -> generator/parse/grammar/*.js + .d.ts (git-ignored build output).
const grammarOut = join(root, 'generator', 'parse', 'grammar');
mkdirSync(grammarOut, { recursive: true });
for (const file of readdirSync(join(root, 'grammar')).filter((f) => f.endsWith('.peggy'))) {
  const base = file.replace(/\.peggy$/, '');
  run(bin('peggy'), ['--format', 'es', '--dts', '-o', join(grammarOut, `${base}.js`), join('grammar', file)]);
}

// `--grammar-only`: just step 1, for running the parser's tests from source (vitest) quickly.
if (process.argv.includes('--grammar-only')) process.exit(0);

// 2. Templates are embedded into a TS module so the generator stays a pure function (no I/O).
run(process.execPath, ['scripts/embed-templates.mjs']);

// 3. TypeScript -> dist/.
rmSync(join(root, 'dist'), { recursive: true, force: true });
run(bin('tsc'), ['-p', 'tsconfig.build.json']);

// 4. The compiled grammars are plain JavaScript that tsc does not copy.
cpSync(grammarOut, join(root, 'dist', 'generator', 'parse', 'grammar'), { recursive: true });
