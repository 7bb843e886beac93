/** The constraint expression language: precedence, evaluation, errors with offsets, TS printing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateExpr, exprToTs, isExprError, parseExpr } from '../../generator/spec/expr.js';

const env: Record<string, number | boolean | string> = { A: 7, B: 2, T: true, S: 'text' };
const lookup = (n: string) => env[n];
const ev = (src: string) => {
  const e = parseExpr(src);
  if (isExprError(e)) throw new Error(e.error);
  return evaluateExpr(e, lookup);
};

describe('constraint expressions', () => {
  it('evaluates with C precedence', () => {
    expect(ev('A + B * 3')).toBe(13);
    expect(ev('(A + B) * 3')).toBe(27);
    expect(ev('A % B == 1 && !(A < B) || false')).toBe(true);
    expect(ev('A - B - 1')).toBe(4);
    expect(ev('A / B')).toBe(3.5);
    expect(ev('-A + 10 >= 3')).toBe(true);
    expect(ev('T && A != B')).toBe(true);
  });

  it('reports syntax errors with the offset', () => {
    expect(parseExpr('A < ')).toEqual({
      error: "expected a number, a constant name or '(' but found end of expression",
      offset: 4,
    });
    expect(parseExpr('A # B')).toEqual({ error: "unexpected character '#'", offset: 2 });
    expect(parseExpr('A B')).toEqual({ error: "unexpected 'B'", offset: 2 });
  });

  it('rejects operands of the wrong kind', () => {
    expect(() => ev('A + T')).toThrow(/expected a number, found a boolean/);
    expect(() => ev('A && T')).toThrow(/expected a boolean, found the number 7/);
    expect(() => ev('S < A')).toThrow();
    expect(() => ev('Z < A')).toThrow(/unknown constant 'Z'/);
  });

  it('the printed TypeScript evaluates to the same value (property)', () => {
    const leaf = fc.oneof(fc.constantFrom('A', 'B'), fc.integer({ min: 0, max: 20 }).map(String));
    const arith: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
      e: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc
          .tuple(tie('e'), fc.constantFrom('+', '-', '*', '%'), tie('e'))
          .map(([l, op, r]) => `(${l} ${op} ${r})`),
      ),
    })).e;
    fc.assert(
      fc.property(arith, arith, fc.constantFrom('<', '<=', '==', '!=', '>', '>='), (l, r, op) => {
        const src = `${l} ${op} ${r}`;
        const e = parseExpr(src);
        if (isExprError(e)) throw new Error(e.error);
        const ts = exprToTs(e, (n) => `env.${n}`);
        const viaTs = new Function('env', `return ${ts};`)(env);
        expect(viaTs).toBe(evaluateExpr(e, lookup));
      }),
      { numRuns: 500 },
    );
  });
});
