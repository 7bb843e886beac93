/**
 * The I/O a `vibee` command may use, injected so commands run in-process in tests.
 * Commands return an exit code and never throw for bad input (no stack traces ever).
 */
import { readFile } from 'node:fs/promises';

/** Streams and file access of one CLI run. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readFile(path: string): Promise<Uint8Array>;
}

/** The real process I/O. */
export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: (path) => readFile(path),
};
