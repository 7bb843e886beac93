/**
 * `vibee parse FILE... [--json]`: parses each file and reports every error as
 * `FILE:LINE:COL: error[CODE]: MESSAGE` + source line + caret (on stderr), exit 1 if any file fails.
 *
 * Output with `--json` (stdout): for one file, its plain value as pretty-printed JSON (keys in
 * source order); for several files, JSON Lines: one compact JSON value per successfully parsed
 * file, in argument order. Without `--json`: `FILE: ok` per parsed file.
 */
import type { Command } from 'commander';
import { formatDiagnostic } from '../../diagnostics.js';
import { parseVibee } from '../../parse/parse-vibee.js';
import { toJson } from '../../parse/to-plain.js';
import type { CliIo } from '../io.js';

/** Options of `vibee parse`. */
export interface ParseCommandOptions {
  json?: boolean;
}

/** Runs `vibee parse` and returns the exit code (0 when every file parses). */
export async function runParse(
  files: readonly string[],
  options: ParseCommandOptions,
  io: CliIo,
): Promise<number> {
  let failed = false;
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = await io.readFile(file);
    } catch (e) {
      const reason =
        e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : 'unreadable';
      io.stderr(`${file}:1:1: error[YAML000]: cannot read file (${reason})\n`);
      failed = true;
      continue;
    }
    const { document, diagnostics } = parseVibee(bytes, file);
    if (diagnostics.length > 0) {
      const text = new TextDecoder('utf-8').decode(bytes);
      for (const d of diagnostics) io.stderr(`${formatDiagnostic(d, text)}\n`);
    }
    if (document === null) {
      failed = true;
      continue;
    }
    if (options.json) io.stdout(`${toJson(document, files.length === 1 ? 2 : 0)}\n`);
    else io.stdout(`${file}: ok\n`);
  }
  return failed ? 1 : 0;
}

/** Registers `parse` on the `vibee` program; the exit code is stored with `setExitCode`. */
export function registerParseCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('parse')
    .description('parse .vibee files; print errors with locations, or the documents as JSON')
    .argument('<files...>', '.vibee files to parse')
    .option('--json', 'print each document as JSON (keys in source order); JSON Lines for several files')
    .action(async (files: string[], options: ParseCommandOptions) => {
      setExitCode(await runParse(files, options, io));
    });
}
