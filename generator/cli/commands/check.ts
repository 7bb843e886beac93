/**
 * `vibee check [SPEC...] [--out DIR]`: regenerates in memory and compares with DIR. Exit 1 naming
 * stale (with a unified diff), missing and extra files, and the command that fixes it. Skips the
 * in-memory type check (the compared output is what `generate`, which does check, would write).
 */
import type { Command } from 'commander';
import { hasErrors } from '../../diagnostics.js';
import { unifiedDiff } from '../../emit/text-diff.js';
import type { CliIo } from '../io.js';
import {
  DEFAULT_OUT,
  DEFAULT_SPEC,
  type GenerateCommandOptions,
  generateFromFiles,
  listGeneratedFiles,
} from './generate.js';

/** Runs `vibee check`; returns the exit code (0 when DIR is fresh). */
export async function runCheck(
  specs: readonly string[],
  options: GenerateCommandOptions,
  io: CliIo,
): Promise<number> {
  const list = specs.length ? specs : [DEFAULT_SPEC];
  const out = (options.out ?? DEFAULT_OUT).replace(/\/+$/, '');
  // No in-memory type check here: a tree equal to the output of `generate` (which type-checks) is
  // fresh; validation still runs, so a broken spec fails the check.
  const g = await generateFromFiles(list, { ...options, typecheck: false }, io);
  if (!g || hasErrors(g.result.diagnostics)) return 1;
  const existing = await listGeneratedFiles(out);
  const problems: string[] = [];
  const diffs: string[] = [];
  for (const f of g.result.files) {
    const cur = existing.get(f.path);
    if (cur === undefined) problems.push(`missing: ${out}/${f.path}`);
    else if (cur !== f.content) {
      problems.push(`stale: ${out}/${f.path}`);
      diffs.push(
        unifiedDiff(cur, f.content, `${out}/${f.path} (on disk)`, `${out}/${f.path} (from the spec)`),
      );
    }
  }
  const produced = new Set(g.result.files.map((f) => f.path));
  for (const p of existing.keys()) if (!produced.has(p)) problems.push(`extra: ${out}/${p}`);
  if (problems.length === 0) {
    io.stdout(`vibee: ${out}/ is up to date (${g.result.files.length} files)\n`);
    return 0;
  }
  io.stderr(`vibee: ${out}/ is not up to date with ${list.join(', ')}:\n`);
  for (const p of problems) io.stderr(`  ${p}\n`);
  for (const d of diffs) io.stderr(d);
  io.stderr('fix: run `npm run generate` (then commit the result)\n');
  return 1;
}

/** Registers `check`. */
export function registerCheckCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('check')
    .description(
      `exit 1 when ${DEFAULT_OUT}/ differs from what the specs generate (stale, missing or extra files)`,
    )
    .argument('[specs...]', '.vibee specs')
    .option('--out <dir>', 'output directory', DEFAULT_OUT)
    .option(
      '--runtime-import <specifier>',
      'module specifier of the wire runtime (default: vibee-consensus/wire; in this repository the path of runtime/wire/v1.js)',
    )
    .action(async (specs: string[], options: GenerateCommandOptions) => {
      setExitCode(await runCheck(specs, options, io));
    });
}
