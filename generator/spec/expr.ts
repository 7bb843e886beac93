/**
 * The constraint expression language: numbers, constant names, `+ - * / %`, comparisons
 * (`< <= > >= == !=`), `&& || !`, parentheses, `true`/`false`. Precedence as in C/TypeScript.
 * Parsing never throws: syntax errors come back as `{ error, offset }` (offset into the expression).
 */

/** An expression tree. */
export type Expr =
  | { kind: 'num'; value: number; offset: number }
  | { kind: 'bool'; value: boolean; offset: number }
  | { kind: 'name'; name: string; offset: number }
  | { kind: 'unary'; op: '!' | '-'; arg: Expr; offset: number }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; offset: number };

/** Binary operators. */
export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '<' | '<=' | '>' | '>=' | '==' | '!=' | '&&' | '||';

/** A syntax error at `offset` (0-based, UTF-16) in the expression text. */
export interface ExprSyntaxError {
  error: string;
  offset: number;
}

interface Token {
  t: 'num' | 'name' | 'op' | 'end';
  v: string;
  offset: number;
}

const OPS = ['<=', '>=', '==', '!=', '&&', '||', '+', '-', '*', '/', '%', '<', '>', '!', '(', ')'];

function tokenize(src: string): Token[] | ExprSyntaxError {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const num = /^(\d+(\.\d+)?([eE][+-]?\d+)?)/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'num', v: num[1] as string, offset: i });
      i += (num[1] as string).length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (name) {
      out.push({ t: 'name', v: name[0], offset: i });
      i += name[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) return { error: `unexpected character '${c}'`, offset: i };
    out.push({ t: 'op', v: op, offset: i });
    i += op.length;
  }
  out.push({ t: 'end', v: '', offset: src.length });
  return out;
}

const BINARY_PRECEDENCE: Record<string, number> = {
  '||': 1,
  '&&': 2,
  '==': 3,
  '!=': 3,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
  '+': 5,
  '-': 5,
  '*': 6,
  '/': 6,
  '%': 6,
};

/** Parses a constraint expression. */
export function parseExpr(src: string): Expr | ExprSyntaxError {
  const tokens = tokenize(src);
  if (!Array.isArray(tokens)) return tokens;
  let pos = 0;
  const peek = (): Token => tokens[pos] as Token;
  const fail = (msg: string, t: Token): never => {
    throw { error: msg, offset: t.offset } satisfies ExprSyntaxError;
  };
  const describe = (t: Token): string => (t.t === 'end' ? 'end of expression' : `'${t.v}'`);
  const primary = (): Expr => {
    const t = peek();
    if (t.t === 'num') {
      pos++;
      return { kind: 'num', value: Number(t.v), offset: t.offset };
    }
    if (t.t === 'name') {
      pos++;
      if (t.v === 'true' || t.v === 'false') return { kind: 'bool', value: t.v === 'true', offset: t.offset };
      return { kind: 'name', name: t.v, offset: t.offset };
    }
    if (t.t === 'op' && (t.v === '!' || t.v === '-')) {
      pos++;
      return { kind: 'unary', op: t.v, arg: primary(), offset: t.offset };
    }
    if (t.t === 'op' && t.v === '(') {
      pos++;
      const e = binary(0);
      const close = peek();
      if (close.t !== 'op' || close.v !== ')') fail(`expected ')' but found ${describe(close)}`, close);
      pos++;
      return e;
    }
    return fail(`expected a number, a constant name or '(' but found ${describe(t)}`, t);
  };
  const binary = (minPrec: number): Expr => {
    let left = primary();
    for (;;) {
      const t = peek();
      const prec = t.t === 'op' ? BINARY_PRECEDENCE[t.v] : undefined;
      if (prec === undefined || prec <= minPrec) return left;
      pos++;
      const right = binary(prec);
      left = { kind: 'binary', op: t.v as BinaryOp, left, right, offset: t.offset };
    }
  };
  try {
    const e = binary(0);
    const t = peek();
    if (t.t !== 'end') fail(`unexpected ${describe(t)}`, t);
    return e;
  } catch (err) {
    return err as ExprSyntaxError;
  }
}

/** True when `x` is a syntax error rather than an expression. */
export function isExprError(x: Expr | ExprSyntaxError): x is ExprSyntaxError {
  return 'error' in x;
}

/** Names referenced by an expression, in order of first appearance. */
export function exprNames(e: Expr): { name: string; offset: number }[] {
  const out: { name: string; offset: number }[] = [];
  const walk = (x: Expr): void => {
    if (x.kind === 'name') {
      if (!out.some((o) => o.name === x.name)) out.push({ name: x.name, offset: x.offset });
    } else if (x.kind === 'unary') walk(x.arg);
    else if (x.kind === 'binary') {
      walk(x.left);
      walk(x.right);
    }
  };
  walk(e);
  return out;
}

/** A value during evaluation. */
export type ExprValue = number | boolean;

/** Evaluation failure: a name without a value or an operand of the wrong kind. */
export class ExprEvalError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly code: 'unknown-name' | 'wrong-kind',
  ) {
    super(message);
  }
}

/** Evaluates `e`; `lookup` returns a name's value (undefined when unknown, a string when not numeric). */
export function evaluateExpr(e: Expr, lookup: (name: string) => ExprValue | string | undefined): ExprValue {
  const num = (x: Expr): number => {
    const v = ev(x);
    if (typeof v !== 'number')
      throw new ExprEvalError(`expected a number, found a boolean`, x.offset, 'wrong-kind');
    return v;
  };
  const bool = (x: Expr): boolean => {
    const v = ev(x);
    if (typeof v !== 'boolean')
      throw new ExprEvalError(`expected a boolean, found the number ${v}`, x.offset, 'wrong-kind');
    return v;
  };
  const ev = (x: Expr): ExprValue => {
    switch (x.kind) {
      case 'num':
      case 'bool':
        return x.value;
      case 'name': {
        const v = lookup(x.name);
        if (v === undefined)
          throw new ExprEvalError(`unknown constant '${x.name}'`, x.offset, 'unknown-name');
        if (typeof v === 'string') throw new ExprEvalError(v, x.offset, 'wrong-kind');
        return v;
      }
      case 'unary':
        return x.op === '!' ? !bool(x.arg) : -num(x.arg);
      case 'binary': {
        switch (x.op) {
          case '&&':
            return bool(x.left) && bool(x.right);
          case '||':
            return bool(x.left) || bool(x.right);
          case '==':
          case '!=': {
            const l = ev(x.left);
            const r = ev(x.right);
            if (typeof l !== typeof r)
              throw new ExprEvalError(
                `cannot compare a ${typeof l} with a ${typeof r}`,
                x.offset,
                'wrong-kind',
              );
            return x.op === '==' ? l === r : l !== r;
          }
          default: {
            const l = num(x.left);
            const r = num(x.right);
            switch (x.op) {
              case '+':
                return l + r;
              case '-':
                return l - r;
              case '*':
                return l * r;
              case '/':
                return l / r;
              case '%':
                return l % r;
              case '<':
                return l < r;
              case '<=':
                return l <= r;
              case '>':
                return l > r;
              default:
                return l >= r;
            }
          }
        }
      }
    }
  };
  return ev(e);
}

/** Prints an expression back as (fully parenthesised) TypeScript, mapping names through `name`. */
export function exprToTs(e: Expr, name: (n: string) => string): string {
  switch (e.kind) {
    case 'num':
      return String(e.value);
    case 'bool':
      return String(e.value);
    case 'name':
      return name(e.name);
    case 'unary':
      return `${e.op}(${exprToTs(e.arg, name)})`;
    case 'binary': {
      const op = e.op === '==' ? '===' : e.op === '!=' ? '!==' : e.op;
      return `(${exprToTs(e.left, name)} ${op} ${exprToTs(e.right, name)})`;
    }
  }
}
