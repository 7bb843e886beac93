/** The generator's public entry point (`vibee-consensus/generator`): pure functions, no I/O. */
export * from './diagnostics.js';
export type * from './parse/ast.js';
export { keyString, parseVibee, type ParseVibeeOptions, type ParseVibeeResult } from './parse/parse-vibee.js';
export { toJson, toPlainValue, type PlainValue, type ToPlainOptions } from './parse/to-plain.js';
export { formatTypeExpr, parseTypeExpr, type ParseTypeExprResult, type TypeExpr, type TypeExprInt } from './parse/type-expr.js';
export { printVibee, printVibeeDocument } from './parse/print-vibee.js';
export { PARSE_CODES, type ParseCode } from './parse/codes.js';
// Spec validation and code generation (pure; the CLI layer does the file I/O).
export { validateSpec, type ValidateResult } from './spec/validate.js';
export { VIB, type VibCode } from './spec/codes.js';
export type { SpecModel, TypeRef as SpecTypeRef } from './spec/model.js';
export { parseExpr, evaluateExpr, type Expr } from './spec/expr.js';
export { generate, type GenerateOptions, type GenerateResult } from './emit/generate.js';
export { fsmToMermaid, specToMermaid } from './emit/diagram.js';
export { VIBEE_SPEC_SCHEMA } from './spec/schema.js';
