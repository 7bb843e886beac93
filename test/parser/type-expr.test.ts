import { describe, expect, it } from 'vitest';
import { formatTypeExpr, parseTypeExpr } from '../../generator/parse/type-expr.js';

describe('parseTypeExpr', () => {
  it.each([
    'Int',
    'List<NodeMembership>',
    'Map<String, Int>',
    'Option<T>',
    'Array<u32, 256>',
    'String[256]',
    'tvc_ir.TVCType',
    'Map<String, List<Option<a.B>>>[4]',
  ])('round-trips %s', (text) => {
    const r = parseTypeExpr(text);
    expect(r.diagnostic).toBeUndefined();
    expect(r.type && formatTypeExpr(r.type)).toBe(text);
  });
  it('builds the tree with locations relative to the given range', () => {
    const r = parseTypeExpr('Array<u32, 256>', {
      start: { line: 7, column: 13, offset: 100 },
      end: { line: 7, column: 28, offset: 115 },
    });
    expect(r.type?.name).toBe('Array');
    expect(r.type?.args[0]).toMatchObject({
      name: 'u32',
      args: [],
      range: { start: { line: 7, column: 19, offset: 106 } },
    });
    expect(r.type?.args[1]).toMatchObject({ kind: 'int', value: 256, range: { start: { column: 24 } } });
    expect(parseTypeExpr('String[256]').type?.arraySize).toBe(256);
  });
  it('reports a located diagnostic for bad types', () => {
    const r = parseTypeExpr(
      'Map<String, >',
      { start: { line: 3, column: 11, offset: 0 }, end: { line: 3, column: 24, offset: 13 } },
      'a.vibee',
    );
    expect(r.type).toBeNull();
    expect(r.diagnostic).toMatchObject({
      code: 'TYPE001',
      file: 'a.vibee',
      range: { start: { line: 3, column: 23 } },
    });
    expect(r.diagnostic?.message).toMatch(/expected/);
    expect(parseTypeExpr('List<Int').diagnostic?.range.start.column).toBe(9);
    expect(parseTypeExpr('1abc').type).toBeNull();
  });
});
