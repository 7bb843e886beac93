/**
 * Properties of the generated codecs (generated/codecs.ts), over every wire type of the spec:
 * decode(encode(x)) == x; random bytes, truncated frames and bit-flipped frames give a value or a
 * DecodeError and nothing else; a truncated frame is always a DecodeError.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as gen from '../../generated/index.js';
import type { RecordDef, SpecModel } from '../../generator/spec/model.js';
import { validateSpec } from '../../generator/spec/validate.js';
import { DecodeError } from '../../runtime/wire/v1.js';
import { recordArbitrary } from './codec-arbitraries.js';

const SPEC = 'specs/consensus_coordination.vibee';
const model = validateSpec({ fileName: SPEC, text: readFileSync(SPEC, 'utf8') }).model as SpecModel;
const codecs = gen as unknown as Record<string, (x: unknown) => unknown>;

interface Codec {
  name: string;
  arb: fc.Arbitrary<unknown>;
  encode(x: unknown): Uint8Array;
  decode(b: Uint8Array): unknown;
}

const pascal = (s: string) =>
  s.charAt(0).toUpperCase() + s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()).slice(1);
const wireTypes = model.types.filter((t): t is RecordDef => t.kind === 'record' && t.wire !== undefined);
const perType: Codec[] = wireTypes.map((r) => {
  const message = r.wire?.group !== 'record';
  const fn = message ? `${pascal(r.wire?.group as string)}Message` : r.name;
  return {
    name: r.name,
    arb: recordArbitrary(model, r, message),
    encode: codecs[`encode${fn}`] as (x: unknown) => Uint8Array,
    decode: codecs[`decode${fn}`] as (b: Uint8Array) => unknown,
  };
});
const groups = [...new Set(wireTypes.map((r) => r.wire?.group as string))].map((g) => {
  const fn = g === 'record' ? undefined : `${pascal(g)}Message`;
  return {
    group: g,
    members: perType.filter((c) => wireTypes.find((r) => r.name === c.name)?.wire?.group === g),
    fn,
  };
});

/** Decoding must return or throw DecodeError; anything else is a bug. */
function decodeOrDecodeError(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): unknown {
  try {
    return decode(bytes);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw new Error(`decode threw ${String(e)} instead of DecodeError`);
    return e;
  }
}

describe('generated codecs', () => {
  it('exist for every wire type of the spec', () => {
    expect(perType.length).toBeGreaterThanOrEqual(20);
    for (const c of perType) {
      expect(typeof c.encode, c.name).toBe('function');
      expect(typeof c.decode, c.name).toBe('function');
    }
  });

  it('round-trip every wire type: decode(encode(x)) equals x (200 cases per type)', () => {
    for (const c of perType) {
      fc.assert(
        fc.property(c.arb, (x) => {
          expect(c.decode(c.encode(x))).toEqual(x);
        }),
        { numRuns: 200 },
      );
    }
  });

  it('random bytes decode to a value or a DecodeError only (1500 per group)', () => {
    for (const g of groups) {
      for (const c of g.fn ? [g.members[0] as Codec] : g.members) {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
            const v = decodeOrDecodeError(c.decode, bytes);
            // Anything that decodes re-encodes to a frame that decodes to the same value.
            if (!(v instanceof DecodeError)) expect(c.decode(c.encode(v))).toEqual(v);
          }),
          { numRuns: g.fn ? 1500 : 300 },
        );
      }
    }
  });

  it('truncated frames are always a DecodeError; bit-flipped frames a value or a DecodeError', () => {
    for (const c of perType) {
      fc.assert(
        fc.property(c.arb, fc.nat(), fc.nat(7), (x, cut, bit) => {
          const bytes = c.encode(x);
          const truncated = bytes.slice(0, cut % bytes.length);
          expect(() => c.decode(truncated)).toThrow(DecodeError);
          const flipped = bytes.slice();
          const at = cut % flipped.length;
          flipped[at] = (flipped[at] as number) ^ (1 << bit);
          decodeOrDecodeError(c.decode, flipped);
          // Trailing bytes are rejected too.
          const longer = new Uint8Array(bytes.length + 1);
          longer.set(bytes);
          expect(() => c.decode(longer)).toThrow(DecodeError);
        }),
        { numRuns: 150 },
      );
    }
  });

  it('a hostile count is rejected before allocating', () => {
    // AppendRequest: tag 3, term 1, leader "a", prev index/term 0, then entries count 2^40.
    const frame = Uint8Array.of(3, 1, 1, 0x61, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20);
    expect(() => gen.decodeRaftMessage(frame)).toThrow(/count .* exceeds the remaining/);
    expect(() => gen.decodeRaftMessage(Uint8Array.of(99))).toThrow(/unknown RaftMessage tag 99/);
  });
});
