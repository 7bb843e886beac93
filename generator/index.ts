/** The generator's public entry point (`vibee-consensus/generator`): pure functions, no I/O. */
export * from './diagnostics.js';
export type * from './parse/ast.js';
export { keyString, parseVibee, type ParseVibeeOptions, type ParseVibeeResult } from './parse/parse-vibee.js';
export { toJson, toPlainValue, type PlainValue, type ToPlainOptions } from './parse/to-plain.js';
export { formatTypeExpr, parseTypeExpr, type ParseTypeExprResult, type TypeExpr, type TypeExprInt } from './parse/type-expr.js';
export { printVibee, printVibeeDocument } from './parse/print-vibee.js';
export { PARSE_CODES, type ParseCode } from './parse/codes.js';
