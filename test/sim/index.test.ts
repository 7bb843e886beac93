import { describe, expect, it } from 'vitest';
import * as sim from '../../sim/index.js';

describe('vibee-consensus/sim entry point', () => {
  it('exports the kit', () => {
    for (const name of [
      'createWorld',
      'World',
      'Prng',
      'createPrng',
      'SimNetwork',
      'SimDisk',
      'SimFsError',
      'Trace',
      'EventQueue',
      'forEachSeed',
      'SeedFailure',
    ]) {
      expect(sim, name).toHaveProperty(name);
    }
  });

  it('forEachSeed names the failing seed and stops there', async () => {
    const ran: unknown[] = [];
    const err = await sim
      .forEachSeed({ from: 5, count: 10 }, (seed) => {
        ran.push(seed);
        if (seed === 7) throw new Error('boom');
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(sim.SeedFailure);
    expect(err.seed).toBe(7);
    expect(err.message).toMatch(/seed 7 .*boom/);
    expect(ran).toEqual([5, 6, 7]);
    expect(await sim.forEachSeed(['x', 'y'], () => {})).toEqual(['x', 'y']);
  });

  it('EventQueue orders by (time, seq) over random insertions', () => {
    const q = new sim.EventQueue<sim.QueuedEvent & { id: number }>();
    const p = new sim.Prng(1);
    const evs = Array.from({ length: 500 }, (_, i) => ({
      at: p.int(0, 20),
      seq: i,
      cancelled: false,
      id: i,
    }));
    for (const e of p.shuffle(evs)) q.push(e);
    const out: number[] = [];
    for (let e = q.pop(); e; e = q.pop()) out.push(e.id);
    const want = [...evs].sort((a, b) => a.at - b.at || a.seq - b.seq).map((e) => e.id);
    expect(out).toEqual(want);
  });
});
