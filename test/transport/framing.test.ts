import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COALESCE_MAX_BYTES, writeChunks } from '../../runtime/transport/framing.js';
import {
  encodeFrame,
  FrameDecoder,
  frameHeader,
  reconnectDelay,
  TransportError,
} from '../../runtime/transport/index.js';

/** A socket stand-in that records what `writeChunks` does. */
function recordingSink(result = true) {
  const calls: string[] = [];
  const written: Uint8Array[] = [];
  return {
    calls,
    written,
    write(c: Uint8Array) {
      calls.push(`write ${c.length}`);
      written.push(c);
      return result;
    },
    cork: () => calls.push('cork'),
    uncork: () => calls.push('uncork'),
  };
}

describe('writeChunks', () => {
  it('copies chunks up to COALESCE_MAX_BYTES into one write, in order', () => {
    const chunks = [Uint8Array.of(1, 2), Uint8Array.of(3), new Uint8Array(COALESCE_MAX_BYTES - 3).fill(4)];
    const sink = recordingSink(false);
    expect(writeChunks(sink, chunks)).toBe(false);
    expect(sink.calls).toEqual([`write ${COALESCE_MAX_BYTES}`]);
    expect(Buffer.from(sink.written[0]!).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('writes larger batches corked, chunk by chunk, and a single chunk as it is', () => {
    const big = [Uint8Array.of(9), new Uint8Array(COALESCE_MAX_BYTES)];
    const sink = recordingSink();
    expect(writeChunks(sink, big)).toBe(true);
    expect(sink.calls).toEqual(['cork', 'write 1', `write ${COALESCE_MAX_BYTES}`, 'uncork']);
    expect(sink.written).toEqual(big);
    const one = Uint8Array.of(7);
    const single = recordingSink();
    writeChunks(single, [one]);
    expect(single.written[0]).toBe(one);
  });
});

describe('framing', () => {
  it('round-trips any frames under any chunking, holding only unreturned received bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 30 }),
        (frames, cuts) => {
          const wire = Buffer.concat(frames.map((f) => encodeFrame(f)));
          const dec = new FrameDecoder(300);
          const out: Uint8Array[] = [];
          let pushed = 0;
          let consumed = 0;
          let pos = 0;
          let i = 0;
          while (pos < wire.length) {
            const n = Math.min(cuts[i++ % cuts.length]!, wire.length - pos);
            const got = dec.push(wire.subarray(pos, pos + n));
            pos += n;
            pushed += n;
            for (const g of got) consumed += 4 + g.length;
            out.push(...got.map((g) => Uint8Array.from(g)));
            // Never more than what arrived and was not yet handed out.
            expect(dec.bufferedBytes).toBeLessThanOrEqual(pushed - consumed);
          }
          expect(out).toEqual(frames.map((f) => Uint8Array.from(f)));
          expect(dec.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects a length field of 2^31 as soon as the 4 header bytes arrive', () => {
    const dec = new FrameDecoder();
    expect(dec.push(Uint8Array.of(0x80, 0, 0))).toEqual([]);
    expect(() => dec.push(Uint8Array.of(0))).toThrowError(TransportError);
    expect(dec.bufferedBytes).toBe(0);
    // Poisoned afterwards: the connection must be closed, not resynchronised.
    expect(() => dec.push(encodeFrame(Uint8Array.of(1)))).toThrowError(/failed/);
  });

  it('accepts exactly the maximum and refuses one byte more', () => {
    const ok = new FrameDecoder(10);
    expect(ok.push(encodeFrame(new Uint8Array(10)))).toHaveLength(1);
    const bad = new FrameDecoder(10);
    try {
      bad.push(frameHeader(11));
      expect.unreachable();
    } catch (e) {
      expect((e as TransportError).code).toBe('frame-too-large');
    }
  });

  it('does not pre-allocate from the length field', () => {
    const dec = new FrameDecoder(16 * 1024 * 1024);
    dec.push(frameHeader(16 * 1024 * 1024 - 1));
    dec.push(new Uint8Array(10));
    expect(dec.bufferedBytes).toBe(10);
  });

  it('handles empty frames and switching the maximum between frames', () => {
    const dec = new FrameDecoder(4);
    dec.append(
      Buffer.concat([
        encodeFrame(new Uint8Array(0)),
        encodeFrame(Uint8Array.of(1, 2, 3, 4)),
        encodeFrame(new Uint8Array(100)),
      ]),
    );
    expect(dec.next()).toEqual(Buffer.alloc(0));
    expect(Array.from(dec.next()!)).toEqual([1, 2, 3, 4]);
    dec.setMaxFrameBytes(100);
    expect(dec.next()).toHaveLength(100);
    expect(dec.next()).toBeNull();
  });
});

describe('reconnect backoff', () => {
  it('grows exponentially, is capped, and jitters between half and all of the step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (n, r) => {
          const d = reconnectDelay(n, 50, 5000, r);
          const step = Math.min(5000, 50 * 2 ** n);
          expect(d).toBeGreaterThanOrEqual(Math.floor(step / 2));
          expect(d).toBeLessThanOrEqual(step);
        },
      ),
    );
    expect([0, 1, 2, 3].map((n) => reconnectDelay(n, 50, 5000, 0.999999))).toEqual([50, 100, 200, 400]);
    expect(reconnectDelay(40, 50, 5000, 0)).toBe(2500);
  });
});
