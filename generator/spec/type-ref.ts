/**
 * Field type expressions: `Name ('<' Arg (',' Arg)* '>')? ('[' Digits ']')?`, `Arg = TypeRef |
 * Digits`, `Name = Ident ('.' Ident)*`. Parsing never throws.
 */
import type { TypeRef } from './model.js';

/** Parses a type expression; on failure returns the message and the offset into `text`. */
export function parseTypeRef(text: string): TypeRef | { error: string; offset: number } {
  let i = 0;
  const ws = (): void => {
    while (text[i] === ' ') i++;
  };
  const fail = (msg: string): never => {
    throw { error: msg, offset: i };
  };
  const found = (): string => (i >= text.length ? 'end of type' : `'${text[i]}'`);
  const ref = (): TypeRef => {
    ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(text.slice(i));
    if (!m) return fail(`expected a type name but found ${found()}`);
    i += m[0].length;
    const out: TypeRef = { name: m[0], args: [] };
    ws();
    if (text[i] === '<') {
      i++;
      for (;;) {
        ws();
        const d = /^\d+/.exec(text.slice(i));
        if (d) {
          out.args.push(Number(d[0]));
          i += d[0].length;
        } else out.args.push(ref());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '>') {
          i++;
          break;
        }
        fail(`expected ',' or '>' but found ${found()}`);
      }
      ws();
    }
    if (text[i] === '[') {
      i++;
      const d = /^\d+/.exec(text.slice(i));
      if (!d) fail(`expected an array size but found ${found()}`);
      i += (d as RegExpExecArray)[0].length;
      if (text[i] !== ']') fail(`expected ']' but found ${found()}`);
      i++;
      out.arraySize = Number((d as RegExpExecArray)[0]);
      ws();
    }
    return out;
  };
  try {
    const r = ref();
    if (i < text.length) fail(`unexpected ${found()} after the type`);
    return r;
  } catch (e) {
    return e as { error: string; offset: number };
  }
}

/** Prints a type reference back in spec syntax. */
export function typeRefText(t: TypeRef): string {
  const args = t.args.length
    ? `<${t.args.map((a) => (typeof a === 'number' ? String(a) : typeRefText(a))).join(', ')}>`
    : '';
  return `${t.name}${args}${t.arraySize !== undefined ? `[${t.arraySize}]` : ''}`;
}
