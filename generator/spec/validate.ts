/** `validateSpec`: parse, lower, schema-check and semantically check one spec. Pure. */
import type { Diagnostic } from '../diagnostics.js';
import { hasErrors } from '../diagnostics.js';
import { withoutBom } from '../parse/parse-vibee.js';
import { type CheckOptions, checkModel } from './checks.js';
import { lowerDocument } from './lower.js';
import type { PointerMap, SpecModel } from './model.js';
import { parseSpecText } from './parse-source.js';

/** Result of validation: the model (null when the spec has errors) and every diagnostic. */
export interface ValidateResult {
  model: SpecModel | null;
  pointers: PointerMap;
  diagnostics: Diagnostic[];
}

/** Validates one spec text; never throws for bad input. */
export function validateSpec(
  input: { fileName: string; text: string },
  options: CheckOptions = {},
): ValidateResult {
  // Positions are computed on the text without a BOM (as the parser sees it).
  const text = withoutBom(input.text);
  const parsed = parseSpecText(text, input.fileName);
  if (!parsed.document) return { model: null, pointers: new Map(), diagnostics: parsed.diagnostics };
  const lowered = lowerDocument(parsed.document, text);
  const diagnostics = [...parsed.diagnostics, ...lowered.diagnostics];
  if (!lowered.model) return { model: null, pointers: lowered.pointers, diagnostics };
  diagnostics.push(...checkModel(lowered.model, lowered.pointers, text, options));
  return { model: hasErrors(diagnostics) ? null : lowered.model, pointers: lowered.pointers, diagnostics };
}
