/**
 * `vibee generate` with several specs puts each into `<module>/`: a module that would leave --out
 * (`../escaped`) or that two specs share is refused with a located diagnostic instead of writing
 * outside --out or overwriting. An --out that is a file exits 1 with a message, not an internal error.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../generator/cli/vibee.js';
import { generate } from '../../generator/index.js';
import { captureIo } from './cli-io.js';

const spec = (name: string, module: string) =>
  `name: ${name}\nversion: "1.0.0"\nlanguage: typescript\nmodule: "${module}"\n`;

describe('multi-spec output folders', () => {
  it('generate() never returns a path outside the output directory', () => {
    const r = generate(
      [
        { fileName: 'a.vibee', text: spec('a', '../../escaped') },
        { fileName: 'b.vibee', text: spec('b', 'b') },
      ],
      { typecheck: false },
    );
    const outside = r.files.filter((f) => path.posix.normalize(f.path).startsWith('..'));
    expect(outside.map((f) => f.path)).toEqual([]);
  });

  it('two specs with the same module are a diagnostic, not a silent overwrite', () => {
    const r = generate(
      [
        { fileName: 'a.vibee', text: spec('a', 'same') },
        { fileName: 'b.vibee', text: spec('b', 'same') },
      ],
      { typecheck: false },
    );
    const paths = r.files.map((f) => f.path);
    const dupes = paths.filter((p, i) => paths.indexOf(p) !== i);
    expect(dupes.length === 0 || r.diagnostics.some((d) => d.severity === 'error')).toBe(true);
  });

  it('the CLI does not write outside --out', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vibee-gen-out-'));
    writeFileSync(path.join(dir, 'a.vibee'), spec('a', '../escaped'));
    writeFileSync(path.join(dir, 'b.vibee'), spec('b', 'b'));
    await main(
      [
        'generate',
        path.join(dir, 'a.vibee'),
        path.join(dir, 'b.vibee'),
        '--out',
        path.join(dir, 'out'),
        '--no-typecheck',
      ],
      captureIo(),
    );
    expect(existsSync(path.join(dir, 'escaped', 'constants.ts'))).toBe(false);
  });
});

describe('--out that is not a directory', () => {
  it('exits 1 with a located message, not "internal error" / exit 2', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vibee-gen-outfile-'));
    const out = path.join(dir, 'afile');
    writeFileSync(out, 'x');
    const io = captureIo();
    const code = await main(
      ['generate', 'specs/consensus_coordination.vibee', '--out', out, '--no-typecheck'],
      io,
    );
    expect(io.err).not.toMatch(/internal error/);
    expect(code).toBe(1);
  });
});
