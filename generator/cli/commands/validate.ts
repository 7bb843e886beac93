/** `vibee validate FILE...`: schema and semantic checks; every problem printed, exit 1 on errors. */
import type { Command } from 'commander';
import { formatDiagnostic, hasErrors } from '../../diagnostics.js';
import { validateSpec } from '../../spec/validate.js';
import type { CliIo } from '../io.js';

/** Runs `vibee validate`; returns the exit code. */
export async function runValidate(
  files: readonly string[],
  options: { allowUnknownTypes?: boolean },
  io: CliIo,
): Promise<number> {
  let failed = false;
  for (const file of files) {
    let text: string;
    try {
      text = new TextDecoder('utf-8').decode(await io.readFile(file));
    } catch (e) {
      const reason =
        e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : 'unreadable';
      io.stderr(`${file}:1:1: error[VIB000]: cannot read file (${reason})\n`);
      failed = true;
      continue;
    }
    const r = validateSpec(
      { fileName: file, text },
      options.allowUnknownTypes ? { allowUnknownTypes: true } : {},
    );
    for (const d of r.diagnostics) io.stderr(`${formatDiagnostic(d, text)}\n`);
    if (hasErrors(r.diagnostics)) failed = true;
    else io.stdout(`${file}: ok\n`);
  }
  return failed ? 1 : 0;
}

/** Registers `validate`. */
export function registerValidateCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command('validate')
    .description('validate .vibee specs (JSON Schema + semantic checks)')
    .argument('<files...>', '.vibee specs')
    .option('--allow-unknown-types', 'report undefined type names as warnings')
    .action(async (files: string[], options: { allowUnknownTypes?: boolean }) => {
      setExitCode(await runValidate(files, options, io));
    });
}
