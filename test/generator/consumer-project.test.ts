/**
 * Code generated from an application's own spec, outside this repository, imports the wire runtime
 * the installed package exports (`vibee-consensus/wire`), type-checks under `nodenext` and runs.
 * Before, the CLI's default pointed at `runtime/wire/v1.js` relative to the working directory, a
 * path that exists only in this repository, and no package export offered the runtime at all.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeImportFor } from '../../generator/cli/commands/generate.js';
import { main } from '../../generator/cli/vibee.js';
import { generate } from '../../generator/index.js';
import { captureIo } from './cli-io.js';
import { BASE_SPEC } from './spec-fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

describe('generated code in a consumer project', () => {
  let dir: string;
  beforeAll(() => {
    // Inside the package (under dist/, which the build owns; no package.json of its own) so that
    // `vibee-consensus/wire` resolves through the package's own `exports`, as from node_modules.
    mkdirSync(path.join(ROOT, 'dist'), { recursive: true });
    dir = mkdtempSync(path.join(ROOT, 'dist', 'consumer-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the CLI defaults to the package export outside this repository', () => {
    expect(runtimeImportFor('src/gen', dir)).toBe('vibee-consensus/wire');
    expect(runtimeImportFor('generated', ROOT)).toBe('../runtime/wire/v1.js');
  });

  it('generate() type-checks with the package specifier, also for several specs in folders', () => {
    const one = generate([{ fileName: 'a.vibee', text: BASE_SPEC }], {
      runtimeImport: 'vibee-consensus/wire',
    });
    expect(one.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const two = generate(
      [
        { fileName: 'a.vibee', text: BASE_SPEC },
        { fileName: 'b.vibee', text: BASE_SPEC.replace('module: t', 'module: u') },
      ],
      { runtimeImport: 'vibee-consensus/wire' },
    );
    expect(two.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const imports = two.files.flatMap((f) =>
      [...f.content.matchAll(/from '([^']*wire[^']*)'/g)].map((m) => m[1]),
    );
    expect(new Set(imports)).toEqual(new Set(['vibee-consensus/wire']));
  });

  it('`vibee generate` there writes code that compiles with tsc (nodenext) and round-trips a message', async () => {
    writeFileSync(path.join(dir, 'app.vibee'), BASE_SPEC);
    const cwd = process.cwd();
    process.chdir(dir);
    let code: number | undefined;
    try {
      const io = captureIo();
      await main(['generate', 'app.vibee', '--out', 'gen'], io);
      code = process.exitCode as number | undefined;
      process.exitCode = undefined;
    } finally {
      process.chdir(cwd);
    }
    expect(code ?? 0).toBe(0);
    expect(readFileSync(path.join(dir, 'gen', 'codecs.ts'), 'utf8')).toContain("from 'vibee-consensus/wire'");
    writeFileSync(
      path.join(dir, 'main.ts'),
      [
        "import { DecodeError, decodeMsgMessage, encodeMsgMessage } from './gen/index.js';",
        "const p = decodeMsgMessage(encodeMsgMessage({ type: 'Point', xPos: 7, color: 'green' }));",
        'let refused = false;',
        'try { decodeMsgMessage(new Uint8Array([0xff])); } catch (e) { refused = e instanceof DecodeError; }',
        'console.log(JSON.stringify({ p, refused }));',
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'es2022',
          strict: true,
          rootDir: '.',
          outDir: 'out',
          skipLibCheck: true,
        },
        include: ['main.ts', 'gen/**/*.ts'],
      }),
    );
    try {
      execFileSync(process.execPath, [TSC, '-p', dir], { cwd: dir, stdio: 'pipe' });
    } catch (e) {
      throw new Error(`tsc failed:\n${(e as { stdout?: Buffer }).stdout?.toString()}`);
    }
    const out = execFileSync(process.execPath, [path.join(dir, 'out', 'main.js')], { cwd: dir }).toString();
    expect(JSON.parse(out)).toEqual({ p: { type: 'Point', xPos: 7, color: 'green' }, refused: true });
  });
});
