/** runtime/wire/v1.ts: the primitives the generated codecs are built on. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeUtf8Into } from '../../runtime/wire/utf8.js';
import {
  createMachine,
  DecodeError,
  decodeUtf8,
  IllegalTransition,
  indexTransitions,
  Reader,
  utf8ByteLength,
  Writer,
} from '../../runtime/wire/v1.js';

describe('Writer/Reader', () => {
  it('round-trips every primitive at its edges', () => {
    const w = new Writer(64);
    w.reset();
    const uints = [0, 1, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER];
    for (const n of uints) w.uint(n);
    const ints = [0, -1, 1, -(2 ** 31), Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    for (const n of ints) w.int(n);
    w.u64((1n << 64n) - 1n);
    w.i64(-(1n << 63n));
    w.f64(-0);
    w.bool(true);
    w.string('héllo ✓ 𝄞');
    w.bytes(Uint8Array.of(1, 2, 3));
    const frame = w.finish();
    const r = new Reader(frame);
    expect(uints.map(() => r.uint())).toEqual(uints);
    expect(ints.map(() => r.int())).toEqual(ints);
    expect(r.u64()).toBe((1n << 64n) - 1n);
    expect(r.i64()).toBe(-(1n << 63n));
    expect(Object.is(r.f64(), -0)).toBe(true);
    expect(r.bool()).toBe(true);
    expect(r.string()).toBe('héllo ✓ 𝄞');
    expect(r.bytes()).toEqual(Uint8Array.of(1, 2, 3));
    r.end();
  });

  it('frames returned by finish() are never overwritten by later frames, across chunk changes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 40 }),
        (payloads) => {
          const w = new Writer(64);
          const frames = payloads.map((p) => {
            w.reset();
            w.bytes(p);
            return w.finish();
          });
          for (const [i, f] of frames.entries()) expect(new Reader(f).bytes()).toEqual(payloads[i]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decoded bytes do not alias the frame', () => {
    const w = new Writer();
    w.reset();
    w.bytes(Uint8Array.of(9, 9));
    const frame = w.finish().slice();
    const b = new Reader(frame).bytes();
    frame.fill(0);
    expect(b).toEqual(Uint8Array.of(9, 9));
  });

  it('rejects malformed input with DecodeError and a clear message', () => {
    expect(() => new Reader(Uint8Array.of(0x80)).uint()).toThrow(/truncated varint \(at byte 0\)/);
    expect(() => new Reader(Uint8Array.of(0x80, 0x00)).uint()).toThrow(/non-minimal varint/);
    expect(() => new Reader(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10)).uint()).toThrow(
      /exceeds 2\^53/,
    );
    expect(() => new Reader(Uint8Array.of(2)).bool()).toThrow(/invalid bool byte 2/);
    expect(() => new Reader(Uint8Array.of(5, 1)).bytes()).toThrow(/byte length 5 exceeds/);
    expect(() => new Reader(Uint8Array.of(2, 0xc3, 0x28)).string()).toThrow(/invalid UTF-8/);
    expect(() => new Reader(Uint8Array.of(200, 1)).count(1)).toThrow(
      /count 200 exceeds the remaining 0 bytes/,
    );
    expect(() => new Reader(Uint8Array.of(4)).ordinal(4, 'Color')).toThrow(/invalid Color ordinal 4/);
    const r = new Reader(Uint8Array.of(1, 2));
    r.uint();
    expect(() => r.end()).toThrow(DecodeError);
    const u64 = new Uint8Array(11).fill(0xff);
    expect(() => new Reader(u64).u64()).toThrow(/u64 varint too long/);
  });

  it('random bytes only ever produce DecodeError from any primitive', () => {
    const reads: ((r: Reader) => unknown)[] = [
      (r) => r.uint(),
      (r) => r.int(),
      (r) => r.u64(),
      (r) => r.i64(),
      (r) => r.f64(),
      (r) => r.bool(),
      (r) => r.string(),
      (r) => r.bytes(),
      (r) => r.count(3),
      (r) => r.present(),
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), fc.nat(reads.length - 1), (bytes, k) => {
        try {
          (reads[k] as (r: Reader) => unknown)(new Reader(bytes));
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('utf8ByteLength', () => {
  const encoder = new TextEncoder();

  it('counts what TextEncoder writes, at every width and for lone surrogates', () => {
    const edges = [
      '',
      'a',
      '\u007f',
      '\u0080',
      '\u07ff',
      '\u0800',
      '\uffff',
      '𝄞',
      '\ud800',
      '\udc00',
      'a\ud800b',
      '\udc00\ud800',
      '𝄞\ud834',
    ];
    for (const s of edges) expect(utf8ByteLength(s), JSON.stringify(s)).toBe(encoder.encode(s).length);
  });

  it('agrees with TextEncoder on arbitrary UTF-16 strings (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)) }),
        (a, b) => {
          const s = a + b;
          expect(utf8ByteLength(s)).toBe(encoder.encode(s).length);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('encodeUtf8Into / decodeUtf8', () => {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // Mixed: ASCII runs (the fast paths), every UTF-8 width, and lone surrogates (U+FFFD on encode).
  const strings = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)) }),
    fc.string({ maxLength: 80 }),
  );

  it('writes the bytes TextEncoder writes, at an offset, and returns the end (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 4 }), strings, (prefix, s) => {
        const want = encoder.encode(s);
        const out = new Uint8Array(prefix.length + utf8ByteLength(s) + 2).fill(0xee);
        const end = encodeUtf8Into(s, out, prefix.length);
        expect(end).toBe(prefix.length + want.length);
        expect(out.subarray(prefix.length, end)).toEqual(want);
        expect(out[end]).toBe(0xee); // nothing written past the end
      }),
      { numRuns: 2000 },
    );
  });

  it('reads what TextDecoder reads, and refuses what it refuses (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          strings.map((s) => encoder.encode(s)),
          fc.uint8Array({ maxLength: 80 }),
          fc.uint8Array({ maxLength: 80, max: 0x7f }),
        ),
        fc.nat(3),
        (bytes, pad) => {
          const buf = new Uint8Array(pad + bytes.length + pad).fill(0x41);
          buf.set(bytes, pad);
          let want: string | Error;
          try {
            want = decoder.decode(bytes);
          } catch (e) {
            want = e as Error;
          }
          if (want instanceof Error)
            expect(() => decodeUtf8(buf, pad, pad + bytes.length)).toThrow(TypeError);
          else expect(decodeUtf8(buf, pad, pad + bytes.length)).toBe(want);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('state machine helper', () => {
  it('fires transitions with hooks in order and throws IllegalTransition otherwise', () => {
    const table = [
      { from: 'a', to: 'b', on: 'go' },
      { from: 'b', to: 'a', on: 'back' },
    ] as const;
    const log: string[] = [];
    const m = createMachine<'a' | 'b', 'go' | 'back'>('M', indexTransitions(table), 'a', {
      onExit: (s, e, to) => log.push(`exit ${s} ${e} ${to}`),
      onEnter: (s, e, from) => log.push(`enter ${s} ${e} ${from}`),
      onTrace: (t) => log.push(`trace ${t.machine} ${t.from}->${t.to}`),
    });
    expect(m.can('back')).toBe(false);
    expect(m.fire('go')).toBe('b');
    expect(log).toEqual(['exit a go b', 'enter b go a', 'trace M a->b']);
    expect(() => m.fire('go')).toThrow(IllegalTransition);
    expect(() => m.fire('go')).toThrow("M: no transition from 'b' on 'go'");
    expect(m.state).toBe('b');
  });
});
