/**
 * Built-in field types and their TypeScript/wire mapping (see docs/generated-code.md). Lowercase
 * and Rust/Zig-style aliases used by other vibee specs map onto the same few wire kinds.
 */

/** How a scalar built-in is encoded. `null` means: usable in types, not encodable on the wire. */
export type WireScalar = 'uint' | 'int' | 'u64' | 'i64' | 'f64' | 'bool' | 'string' | 'bytes' | null;

/** A scalar built-in: its TypeScript type and wire kind. */
export interface ScalarBuiltin {
  ts: string;
  wire: WireScalar;
}

const S = (ts: string, wire: WireScalar): ScalarBuiltin => ({ ts, wire });

/** Scalar built-ins by spec name. */
export const SCALAR_BUILTINS: ReadonlyMap<string, ScalarBuiltin> = new Map([
  ['UInt', S('number', 'uint')],
  ['u8', S('number', 'uint')],
  ['u16', S('number', 'uint')],
  ['u32', S('number', 'uint')],
  ['usize', S('number', 'uint')],
  ['USize', S('number', 'uint')],
  ['U8', S('number', 'uint')],
  ['U16', S('number', 'uint')],
  ['U32', S('number', 'uint')],
  ['Nat', S('number', 'uint')],
  ['Int', S('number', 'int')],
  ['i8', S('number', 'int')],
  ['i16', S('number', 'int')],
  ['i32', S('number', 'int')],
  ['isize', S('number', 'int')],
  ['I8', S('number', 'int')],
  ['I16', S('number', 'int')],
  ['I32', S('number', 'int')],
  ['Integer', S('number', 'int')],
  ['U64', S('bigint', 'u64')],
  ['u64', S('bigint', 'u64')],
  ['UInt64', S('bigint', 'u64')],
  ['I64', S('bigint', 'i64')],
  ['i64', S('bigint', 'i64')],
  ['Int64', S('bigint', 'i64')],
  ['bigint', S('bigint', 'i64')],
  ['Float', S('number', 'f64')],
  ['Double', S('number', 'f64')],
  ['Number', S('number', 'f64')],
  ['number', S('number', 'f64')],
  ['f32', S('number', 'f64')],
  ['f64', S('number', 'f64')],
  ['Bool', S('boolean', 'bool')],
  ['bool', S('boolean', 'bool')],
  ['Boolean', S('boolean', 'bool')],
  ['boolean', S('boolean', 'bool')],
  ['String', S('string', 'string')],
  ['string', S('string', 'string')],
  ['str', S('string', 'string')],
  ['Str', S('string', 'string')],
  ['Text', S('string', 'string')],
  ['Bytes', S('Uint8Array', 'bytes')],
  ['bytes', S('Uint8Array', 'bytes')],
  ['Any', S('unknown', null)],
  ['JSON', S('unknown', null)],
  ['Json', S('unknown', null)],
  ['Object', S('Record<string, unknown>', null)],
  ['Void', S('void', null)],
  ['void', S('void', null)],
]);

/** Generic built-ins: name -> allowed numbers of arguments. */
export const GENERIC_BUILTINS: ReadonlyMap<
  string,
  { min: number; max: number; kind: 'list' | 'map' | 'option' | 'tuple' | 'result' }
> = new Map([
  ['List', { min: 1, max: 1, kind: 'list' }],
  ['Vec', { min: 1, max: 1, kind: 'list' }],
  ['Set', { min: 1, max: 1, kind: 'list' }],
  ['Array', { min: 1, max: 2, kind: 'list' }],
  ['Map', { min: 2, max: 2, kind: 'map' }],
  ['HashMap', { min: 2, max: 2, kind: 'map' }],
  ['Option', { min: 1, max: 1, kind: 'option' }],
  ['Optional', { min: 1, max: 1, kind: 'option' }],
  ['Maybe', { min: 1, max: 1, kind: 'option' }],
  ['Tuple', { min: 1, max: 16, kind: 'tuple' }],
  ['Result', { min: 1, max: 2, kind: 'result' }],
]);
