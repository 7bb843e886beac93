/** `validateSpec`: parse, lower, schema-check and semantically check one spec. Pure. */
import type { Diagnostic } from '../diagnostics.js';
import { hasErrors } from '../diagnostics.js';
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
  const parsed = parseSpecText(input.text, input.fileName);
  if (!parsed.document) return { model: null, pointers: new Map(), diagnostics: parsed.diagnostics };
  const lowered = lowerDocument(parsed.document, input.text);
  const diagnostics = [...parsed.diagnostics, ...lowered.diagnostics];
  if (!lowered.model) return { model: null, pointers: lowered.pointers, diagnostics };
  diagnostics.push(...checkModel(lowered.model, lowered.pointers, input.text, options));
  return { model: hasErrors(diagnostics) ? null : lowered.model, pointers: lowered.pointers, diagnostics };
}
