/** An in-memory CliIo for running `vibee` commands in-process. */
import { readFile } from 'node:fs/promises';
import type { CliIo } from '../../generator/cli/io.js';

/** Captures stdout/stderr; reads real files. */
export function captureIo(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout(text: string) {
      io.out += text;
    },
    stderr(text: string) {
      io.err += text;
    },
    readFile: (p: string) => readFile(p),
  };
  return io;
}
