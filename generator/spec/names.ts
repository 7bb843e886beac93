/** Name conversion from spec (snake_case) to TypeScript, and identifier validity checks. */

/** `candidate_id` -> `candidateId`; leading underscores kept; already camelCase names are kept. */
export function camelCase(name: string): string {
  const lead = /^_*/.exec(name)?.[0] ?? '';
  const rest = name.slice(lead.length);
  return lead + rest.replace(/[_-]+([A-Za-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** `NodeRoleMachine` -> `NODE_ROLE_MACHINE`, `consensus_config` -> `CONSENSUS_CONFIG`. */
export function upperSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

/** `node_role` / `nodeRole` -> `NodeRole`. */
export function pascalCase(name: string): string {
  const c = camelCase(name.replace(/[^A-Za-z0-9_]+/g, '_'));
  return c.charAt(0).toUpperCase() + c.slice(1);
}

/** Reserved words of ECMAScript/TypeScript that cannot be used as identifiers (or type names). */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  'break',
  'case',
  'catch',
  'class',
  'const',
  'continue',
  'debugger',
  'default',
  'delete',
  'do',
  'else',
  'enum',
  'export',
  'extends',
  'false',
  'finally',
  'for',
  'function',
  'if',
  'import',
  'in',
  'instanceof',
  'new',
  'null',
  'return',
  'super',
  'switch',
  'this',
  'throw',
  'true',
  'try',
  'typeof',
  'var',
  'void',
  'while',
  'with',
  'implements',
  'interface',
  'let',
  'package',
  'private',
  'protected',
  'public',
  'static',
  'yield',
  'await',
  'arguments',
  'eval',
]);

/** Type names that would shadow TypeScript's own (a type named `string` or `Array` breaks emission). */
export const RESERVED_TYPE_NAMES: ReadonlySet<string> = new Set([
  'any',
  'unknown',
  'never',
  'string',
  'number',
  'boolean',
  'bigint',
  'symbol',
  'object',
  'undefined',
  'Array',
  'Map',
  'Set',
  'Record',
  'Partial',
  'Readonly',
  'ReadonlyArray',
  'Uint8Array',
  'Promise',
  'Error',
  'Object',
  'String',
  'Number',
  'Boolean',
  'Function',
  'Symbol',
  'Date',
]);

/** What `isIdentifier` accepts, in words (for diagnostics). */
export const IDENTIFIER_RULE = "ASCII letters, digits, '_' or '$'; not starting with a digit";

/** True when `s` is a syntactically valid (ASCII) identifier. */
export function isIdentifier(s: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s);
}
