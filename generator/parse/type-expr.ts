/**
 * Field types of `.vibee` specs (TypeExpr in the corpus README): `Int`, `List<T>`, `Map<K, V>`,
 * `Option<T>`, `Array<u32, 256>`, `String[256]`, qualified names `tvc_ir.TVCType`. The syntax is
 * grammar/type-expr.peggy; this wrapper adds source positions and diagnostics and never throws.
 */
import { createDiagnostic, type Diagnostic, type SourcePosition, type SourceRange } from '../diagnostics.js';
import { parse as grammarParse } from './grammar/type-expr.js';

/** An integer argument, e.g. the `256` of `Array<u32, 256>`. */
export interface TypeExprInt {
  kind: 'int';
  value: number;
  range: SourceRange;
}

/** A parsed field type. */
export interface TypeExpr {
  name: string;
  args: (TypeExpr | TypeExprInt)[];
  /** `N` of `T[N]`. */
  arraySize?: number;
  range: SourceRange;
}

/** Result of `parseTypeExpr`: a tree, or a diagnostic (code `TYPE001`). */
export type ParseTypeExprResult =
  | { type: TypeExpr; diagnostic?: undefined }
  | { type: null; diagnostic: Diagnostic };

interface RawNode {
  name?: string;
  kind?: 'int';
  value?: number;
  args?: RawNode[];
  arraySize?: number;
  range: { start: number; end: number };
}

/**
 * Parses a type expression. `range` (optional) is where `text` sits in its source file, so the
 * positions of the tree and of a diagnostic point into that file (single-line text assumed);
 * `file` names the file in diagnostics.
 */
export function parseTypeExpr(text: string, range?: SourceRange, file = '<type>'): ParseTypeExprResult {
  const base: SourcePosition = range?.start ?? { line: 1, column: 1, offset: 0 };
  const pos = (off: number): SourcePosition => ({
    line: base.line,
    column: base.column + Array.from(text.slice(0, off)).length,
    offset: base.offset + off,
  });
  const toRange = (r: { start: number; end: number }): SourceRange => ({
    start: pos(r.start),
    end: pos(r.end),
  });
  const convert = (n: RawNode): TypeExpr | TypeExprInt => {
    if (n.kind === 'int') return { kind: 'int', value: n.value as number, range: toRange(n.range) };
    const out: TypeExpr = {
      name: n.name as string,
      args: (n.args ?? []).map(convert),
      range: toRange(n.range),
    };
    if (n.arraySize !== undefined) out.arraySize = n.arraySize;
    return out;
  };
  try {
    return { type: convert(grammarParse(text) as RawNode) as TypeExpr };
  } catch (e) {
    const err = e as {
      location?: { start: { offset: number } };
      expected?: { description?: string; text?: string; type: string }[];
      found?: string | null;
    };
    const at = err.location?.start.offset ?? 0;
    const expected = [
      ...new Set(
        (err.expected ?? []).map((x) =>
          x.type === 'literal' ? `\`${x.text}\`` : x.type === 'end' ? 'end of type' : (x.description ?? ''),
        ),
      ),
    ];
    const found = err.found == null ? 'end of type' : `\`${err.found}\``;
    const p = pos(at);
    return {
      type: null,
      diagnostic: createDiagnostic(
        'TYPE001',
        `invalid type \`${text}\`: expected ${expected.join(', ')}, found ${found}`,
        file,
        { start: p, end: p },
      ),
    };
  }
}

/** Prints a type back in canonical form (`Map<String, Int>`, `String[256]`). */
export function formatTypeExpr(t: TypeExpr | TypeExprInt): string {
  if ('kind' in t) return String(t.value);
  const args = t.args.length > 0 ? `<${t.args.map(formatTypeExpr).join(', ')}>` : '';
  return `${t.name}${args}${t.arraySize !== undefined ? `[${t.arraySize}]` : ''}`;
}
