/**
 * Prints a plain value (or a parsed document/node) back as `.vibee` text, block style, such that
 * `parseVibee(printVibee(v))` gives `v` again (used by the round-trip property). Strings are
 * double-quoted (JSON escapes are valid YAML escapes) unless they are safe plain words.
 */
import type { VibeeDocument, VibeeNode } from './ast.js';
import { type PlainValue, toPlainValue } from './to-plain.js';

const SAFE_PLAIN = /^[A-Za-z_][A-Za-z0-9_ ./-]*[A-Za-z0-9_]$|^[A-Za-z_]$/;
const RESERVED = /^(?:null|Null|NULL|true|True|TRUE|false|False|FALSE|~)$/;

function scalarText(v: PlainValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '.nan';
    if (v === Infinity) return '.inf';
    if (v === -Infinity) return '-.inf';
    if (Object.is(v, -0)) return '-0.0';
    return String(v);
  }
  if (typeof v === 'string')
    return SAFE_PLAIN.test(v) && !RESERVED.test(v) && !/ [#]|: | $/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

function keyText(k: string): string {
  return SAFE_PLAIN.test(k) && !RESERVED.test(k) ? k : JSON.stringify(k);
}

function isCollection(v: PlainValue): v is PlainValue[] | { [key: string]: PlainValue } {
  return v !== null && typeof v === 'object';
}

function isEmpty(v: PlainValue[] | { [key: string]: PlainValue }): boolean {
  return Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0;
}

function printNode(v: PlainValue, indent: string, out: string[]): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isCollection(item) && !isEmpty(item)) {
        out.push(`${indent}-`);
        printNode(item, `${indent}  `, out);
      } else
        out.push(`${indent}- ${isCollection(item) ? (Array.isArray(item) ? '[]' : '{}') : scalarText(item)}`);
    }
    return;
  }
  if (isCollection(v)) {
    for (const [k, val] of Object.entries(v)) {
      if (isCollection(val) && !isEmpty(val)) {
        out.push(`${indent}${keyText(k)}:`);
        printNode(val, `${indent}  `, out);
      } else
        out.push(
          `${indent}${keyText(k)}: ${isCollection(val) ? (Array.isArray(val) ? '[]' : '{}') : scalarText(val)}`,
        );
    }
    return;
  }
  out.push(`${indent}${scalarText(v)}`);
}

/**
 * `.vibee` text of a plain value. The root should be a mapping (a `.vibee` document is one); other
 * roots are printed too but do not parse back.
 */
export function printVibee(value: PlainValue): string {
  const out: string[] = [];
  printNode(value, '', out);
  return `${out.join('\n')}\n`;
}

/** `.vibee` text of a parsed document or node (through its plain value; comments are not kept). */
export function printVibeeDocument(doc: VibeeDocument | VibeeNode): string {
  return printVibee(toPlainValue(doc, { bigint: 'bigint' }));
}
