/** The generator's public entry point (`vibee-consensus/generator`): pure functions, no I/O. */
export * from './diagnostics.js';
export type * from './parse/ast.js';
