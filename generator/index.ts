/** The generator's public entry point (`vibee-consensus/generator`): pure functions, no I/O. */
export * from './diagnostics.js';
export { fsmToMermaid, specToMermaid } from './emit/diagram.js';
export { type GenerateOptions, type GenerateResult, generate } from './emit/generate.js';
export type * from './parse/ast.js';
export { PARSE_CODES, type ParseCode } from './parse/codes.js';
export { keyString, type ParseVibeeOptions, type ParseVibeeResult, parseVibee } from './parse/parse-vibee.js';
export { printVibee, printVibeeDocument } from './parse/print-vibee.js';
export { type PlainValue, type ToPlainOptions, toJson, toPlainValue } from './parse/to-plain.js';
export {
  formatTypeExpr,
  type ParseTypeExprResult,
  parseTypeExpr,
  type TypeExpr,
  type TypeExprInt,
} from './parse/type-expr.js';
export { VIB, type VibCode } from './spec/codes.js';
export { type Expr, evaluateExpr, parseExpr } from './spec/expr.js';
export type { SpecModel, TypeRef as SpecTypeRef } from './spec/model.js';
export { VIBEE_SPEC_SCHEMA } from './spec/schema.js';
// Spec validation and code generation (pure; the CLI layer does the file I/O).
export { type ValidateResult, validateSpec } from './spec/validate.js';
