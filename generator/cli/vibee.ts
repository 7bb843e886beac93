#!/usr/bin/env node
/**
 * The `vibee` command-line tool. Each command lives in its own module under `commands/` and is
 * registered here with one import and one call. Errors never print stack traces.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { versionLine } from '../../runtime/version.js';
import { registerCheckCommand } from './commands/check.js';
import { registerDiagramCommand } from './commands/diagram.js';
import { registerGenerateCommand } from './commands/generate.js';
import { registerParseCommand } from './commands/parse.js';
import { registerValidateCommand } from './commands/validate.js';
import { type CliIo, processIo } from './io.js';

/** Builds the program; `setExitCode` receives each command's exit code. */
export function createProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('vibee')
    .description('vibee: parse, validate and generate code from .vibee specs')
    .version(versionLine('vibee'), '-V, --version', 'print the package version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  registerParseCommand(program, io, setExitCode);
  registerValidateCommand(program, io, setExitCode);
  registerGenerateCommand(program, io, setExitCode);
  registerCheckCommand(program, io, setExitCode);
  registerDiagramCommand(program, io, setExitCode);
  return program;
}

/** Runs the CLI with `argv` (without `node` and the script) and resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode = 0;
  const program = createProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : e.exitCode || 1;
    io.stderr(`vibee: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  return exitCode;
}

const invokedDirectly = (() => {
  try {
    return (
      process.argv[1] !== undefined &&
      realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
})();
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
