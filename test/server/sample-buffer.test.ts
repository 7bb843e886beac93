import { describe, expect, it } from 'vitest';
import { createSampleBuffer } from '../../runtime/server/sample-buffer.js';

const drained = (b: ReturnType<typeof createSampleBuffer>): number[] => {
  const out: number[] = [];
  b.drain((v) => out.push(v));
  return out;
};

describe('sample buffer (hot-path latencies folded into a histogram later)', () => {
  it('hands back the recorded samples oldest first, once', () => {
    const b = createSampleBuffer(8);
    for (const v of [0.3, 0.1, 0.2]) b.record(v);
    expect(drained(b)).toEqual([0.3, 0.1, 0.2]);
    expect(drained(b)).toEqual([]);
  });

  it('without a sink keeps the first `max` samples and drops the rest', () => {
    const b = createSampleBuffer(3);
    for (let i = 1; i <= 5; i++) b.record(i);
    expect(drained(b)).toEqual([1, 2, 3]);
  });

  it('with a sink, a full buffer drains into it on the next turn, not inside record', async () => {
    const b = createSampleBuffer(4);
    const sunk: number[] = [];
    b.sink = (v) => sunk.push(v);
    for (let i = 1; i <= 4; i++) b.record(i);
    expect(sunk).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(sunk).toEqual([1, 2, 3, 4]);
    b.record(5);
    expect(drained(b)).toEqual([5]);
  });

  it('rejects a bound that is not a positive integer', () => {
    expect(() => createSampleBuffer(0)).toThrow(RangeError);
    expect(() => createSampleBuffer(1.5)).toThrow(RangeError);
  });
});
