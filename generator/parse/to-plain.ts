/**
 * Plain-value conversion, separate from the tree: a `.vibee` node becomes the JSON-compatible value
 * that `vibee parse --json` prints (keys in source order).
 */
import type { VibeeDocument, VibeeNode } from './ast.js';
import { keyString } from './parse-vibee.js';

/** A JSON-compatible value (bigint only when asked for with `{ bigint: 'bigint' }`). */
export type PlainValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PlainValue[]
  | { [key: string]: PlainValue };

/** Options of `toPlainValue`. */
export interface ToPlainOptions {
  /** How ints beyond 2^53 are returned: as a (rounded) number (default, JSON-compatible) or as bigint. */
  bigint?: 'number' | 'bigint';
}

/**
 * Converts a node (or a document) to its plain value: mappings -> objects (keys as strings, in
 * source order; note that JavaScript itself lists integer-like keys first when enumerating — use
 * `toJson` for source-ordered text), sequences -> arrays, scalars -> their resolved value.
 */
export function toPlainValue(
  node: VibeeNode | VibeeDocument | null,
  options: ToPlainOptions = {},
): PlainValue {
  if (node === null) return null;
  if (!('kind' in node)) return toPlainValue(node.root, options);
  switch (node.kind) {
    case 'scalar': {
      const v = node.value;
      if (typeof v === 'bigint') return options.bigint === 'bigint' ? v : Number(v);
      return v;
    }
    case 'sequence':
      return node.items.map((item) => toPlainValue(item, options));
    case 'mapping': {
      const out: { [key: string]: PlainValue } = {};
      for (const { key, value } of node.entries) {
        // defineProperty: a key named `__proto__` must become an own property, never the prototype.
        Object.defineProperty(out, keyString(key), {
          value: toPlainValue(value, options),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
}

/**
 * Serialises a node as JSON text straight from the tree: keys in source order (even integer-like
 * ones) and ints beyond 2^53 with all their digits. NaN and infinities print as `null` (as
 * `JSON.stringify` does). `indent` as in `JSON.stringify`.
 */
export function toJson(node: VibeeNode | VibeeDocument | null, indent = 0): string {
  const pad = ' '.repeat(indent);
  const write = (n: VibeeNode | null, depth: string): string => {
    if (n === null) return 'null';
    const inner = depth + pad;
    const nl = indent > 0 ? '\n' : '';
    const sep = indent > 0 ? ': ' : ':';
    switch (n.kind) {
      case 'scalar': {
        const v = n.value;
        if (typeof v === 'bigint') return v.toString();
        return JSON.stringify(v) ?? 'null';
      }
      case 'sequence':
        if (n.items.length === 0) return '[]';
        return `[${nl}${n.items.map((i) => inner + write(i, inner)).join(`,${nl}`)}${nl}${depth}]`;
      case 'mapping': {
        if (n.entries.length === 0) return '{}';
        // Later duplicates cannot occur in a parsed document (they are errors), so no de-duplication.
        const body = n.entries.map(
          (e) => `${inner}${JSON.stringify(keyString(e.key))}${sep}${write(e.value, inner)}`,
        );
        return `{${nl}${body.join(`,${nl}`)}${nl}${depth}}`;
      }
    }
  };
  if (node !== null && !('kind' in node)) return write(node.root, '');
  return write(node, '');
}
