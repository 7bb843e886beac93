/** `vibee diagram SPEC`: every state machine of the spec as a Mermaid stateDiagram-v2 block. */
import type { Command } from 'commander';
import { formatDiagnostic, hasErrors } from '../../diagnostics.js';
import { specToMermaid } from '../../emit/diagram.js';
import { validateSpec } from '../../spec/validate.js';
import type { CliIo } from '../io.js';

/** Runs `vibee diagram`; returns the exit code. */
export async function runDiagram(file: string, io: CliIo): Promise<number> {
  let text: string;
  try {
    text = new TextDecoder('utf-8').decode(await io.readFile(file));
  } catch (e) {
    const reason =
      e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : 'unreadable';
    io.stderr(`${file}:1:1: error[VIB000]: cannot read file (${reason})\n`);
    return 1;
  }
  const r = validateSpec({ fileName: file, text });
  for (const d of r.diagnostics) io.stderr(`${formatDiagnostic(d, text)}\n`);
  if (!r.model || hasErrors(r.diagnostics)) return 1;
  io.stdout(specToMermaid(r.model));
  return 0;
}

/** Registers `diagram`. */
export function registerDiagramCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command('diagram')
    .description('print every fsm of a spec as a Mermaid stateDiagram-v2')
    .argument('<spec>', '.vibee spec')
    .action(async (spec: string) => {
      setExitCode(await runDiagram(spec, io));
    });
}
