import { describe, expect, it } from 'vitest';
import { Rig } from './helpers.js';

/**
 * A partial barrier releases at `ceil(threshold * participants - 1e-9)` arrivals: decimals meaning
 * `k / participants` need exactly k, and floating-point noise in a computed threshold does not
 * cost an extra arrival.
 */
describe('partial-barrier threshold rounding', () => {
  /** Arrivals needed to release a barrier of `participants` with `threshold`. */
  const needed = (participants: number, threshold: number): number => {
    const r = new Rig();
    for (let n = 1; n <= participants; n++) {
      r.open(`p${n}`);
      const res = r.arrive(`p${n}`, 'B', participants, threshold);
      if (!res.ok) throw new Error(res.message);
      if (res.outcome === 'satisfied') return n;
    }
    return Number.POSITIVE_INFINITY;
  };

  it('a computed threshold with float noise needs what its decimal needs; a real excess needs one more', () => {
    expect(0.1 + 0.2).toBeGreaterThan(0.3);
    expect(needed(10, 0.1 + 0.2)).toBe(3);
    expect(needed(2, 0.5)).toBe(1);
    expect(needed(2, 0.501)).toBe(2);
    expect(needed(3, 0.3334)).toBe(2);
  });

  it.each([
    [0.7, 10, 7],
    [0.1, 10, 1],
    [0.3, 10, 3],
    [0.75, 4, 3],
    [1 / 3, 3, 1],
    [2 / 3, 3, 2],
    [0.34, 3, 2],
    [0.29, 100, 29],
    [0.57, 100, 57],
    [0.51, 100, 51],
    [1, 5, 5],
  ])('threshold %d of %d needs %d', (t, p, k) => {
    expect(needed(p, t)).toBe(k);
  });

  it('every decimal k/10 and k/100 needs exactly k', () => {
    for (const p of [10, 100]) {
      const digits = p === 10 ? 1 : 2;
      for (let k = 1; k <= p; k++) {
        const t = Number((k / p).toFixed(digits)); // the double nearest the decimal, as a user writes it
        const r = new Rig();
        for (let n = 1; n <= k; n++) {
          r.open(`p${n}`);
          expect(r.arrive(`p${n}`, 'B', p, t).outcome).toBe(n === k ? 'satisfied' : 'waiting');
        }
      }
    }
  });

  it('a leave re-evaluates with the same rule', () => {
    const r = new Rig();
    for (const s of ['p1', 'p2', 'p3']) r.open(s);
    r.arrive('p1', 'B', 3, 0.51); // needs 2 of 3
    r.arrive('p2', 'B', 4, 0.51); // 4 participants: needs 3
    expect(r.sm.barrier('B')?.state).toBe('waiting');
    r.ok({ type: 'BarrierLeave', sessionId: 'p2', name: 'B' }); // 1 of 3: still waiting
    expect(r.kinds('barrier_released')).toEqual([]);
    expect(r.arrive('p3', 'B', 3, 0.51).outcome).toBe('satisfied');
  });
});
