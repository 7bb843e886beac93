/** The one place the spec passes obtain a syntax tree from text (the parser helper's `parseVibee`). */
import type { Diagnostic } from '../diagnostics.js';
import type { VibeeDocument } from '../parse/ast.js';
import { parseVibee } from '../parse/parse-vibee.js';

/** Parses a `.vibee` text into the syntax tree (diagnostics for syntax errors). */
export function parseSpecText(
  text: string,
  fileName: string,
): { document: VibeeDocument | null; diagnostics: Diagnostic[] } {
  return parseVibee(text, fileName);
}
