/**
 * fast-check arbitraries derived from the spec model itself, so every wire type of the spec is
 * covered without hand-written generators (and new messages are covered automatically).
 */
import fc from 'fast-check';
import { GENERIC_BUILTINS, SCALAR_BUILTINS } from '../../generator/spec/builtins.js';
import type { EnumDef, RecordDef, SpecModel, TypeRef } from '../../generator/spec/model.js';
import { camelCase } from '../../generator/spec/names.js';

/** Builds an arbitrary for a spec type (bounded sizes so runs stay fast). */
export function arbitraryFor(model: SpecModel, t: TypeRef, depth = 0): fc.Arbitrary<unknown> {
  const enums = new Map(model.types.filter((x): x is EnumDef => x.kind === 'enum').map((e) => [e.name, e]));
  const records = new Map(
    model.types.filter((x): x is RecordDef => x.kind === 'record').map((r) => [r.name, r]),
  );
  const en = enums.get(t.name);
  if (en) return fc.constantFrom(...en.members.map((m) => m.name));
  const rec = records.get(t.name);
  if (rec) return recordArbitrary(model, rec, false, depth + 1);
  const s = SCALAR_BUILTINS.get(t.name);
  if (s && t.args.length === 0) {
    switch (s.wire) {
      case 'uint':
        return fc.oneof(fc.nat(300), fc.maxSafeNat());
      case 'int':
        return fc.oneof(fc.integer({ min: -300, max: 300 }), fc.maxSafeInteger());
      case 'u64':
        return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
      case 'i64':
        return fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
      case 'f64':
        return fc.double();
      case 'bool':
        return fc.boolean();
      case 'string':
        return fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }));
      case 'bytes':
        return fc.uint8Array({ maxLength: 24 });
      default:
        throw new Error(`no arbitrary for ${t.name}`);
    }
  }
  const g = GENERIC_BUILTINS.get(t.name);
  const a0 = t.args[0] as TypeRef;
  const max = depth > 2 ? 1 : 3;
  switch (g?.kind) {
    case 'list':
      return fc.array(arbitraryFor(model, a0, depth + 1), { maxLength: max });
    case 'option':
      return fc.option(arbitraryFor(model, a0, depth + 1), { nil: null });
    case 'map':
      return fc
        .uniqueArray(
          fc.tuple(arbitraryFor(model, a0, depth + 1), arbitraryFor(model, t.args[1] as TypeRef, depth + 1)),
          {
            maxLength: max,
            selector: (p) => p[0],
          },
        )
        .map((pairs) => new Map(pairs));
    default:
      throw new Error(`no arbitrary for ${t.name}`);
  }
}

/** A record (or message, with its `type` discriminant) arbitrary. */
export function recordArbitrary(
  model: SpecModel,
  rec: RecordDef,
  message: boolean,
  depth = 0,
): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  if (message) shape.type = fc.constant(rec.name);
  for (const f of rec.fields) shape[camelCase(f.name)] = arbitraryFor(model, f.type as TypeRef, depth);
  return fc.record(shape);
}
