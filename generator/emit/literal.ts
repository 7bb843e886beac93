/** Prints plain spec values as TypeScript literals (deterministic: keys in source order). */

/** A TypeScript literal for a plain value (strings JSON-quoted, ints beyond 2^53 as bigint). */
export function tsLiteral(v: unknown, indent = ''): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'Number.NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'Number.POSITIVE_INFINITY' : 'Number.NEGATIVE_INFINITY';
    return Object.is(v, -0) ? '-0' : String(v);
  }
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return quote(v);
  if (Array.isArray(v)) return `[${v.map((x) => tsLiteral(x, indent)).join(', ')}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{ ${entries.map(([k, x]) => `${propertyKey(k)}: ${tsLiteral(x, indent)}`).join(', ')} }`;
}

/** A property key: bare when it is an identifier, else quoted. */
export function propertyKey(k: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : quote(k);
}

/** A single-quoted TS string literal (escapes quotes, backslashes, control and line separators). */
export function quote(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must be escaped
  return `'${s.replace(/[\\'\u0000-\u001f\u2028\u2029\u007f]/g, (c) => {
    if (c === '\\') return '\\\\';
    if (c === "'") return "\\'";
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  })}'`;
}

/** Text made safe inside a JSDoc comment (no `*\/`, single line). */
export function docText(s: string): string {
  return s
    .replace(/\*\//g, '*\\/')
    .replace(/\s*\r?\n\s*/g, ' ')
    .trim();
}

/** Text made safe inside a template literal in generated code. */
export function templateText(s: string): string {
  return s.replace(/[\\`$]/g, (c) => `\\${c}`);
}
