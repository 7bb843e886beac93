import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CoordinationEvent, CoordinationStateMachine } from '../../runtime/coordination/index.js';
import { cmdOf, KEYS, mkOptions, S, type Step, stepArb } from './command-steps.js';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const jsonish = (x: unknown) =>
  JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v));

/**
 * Every kind of coordination command, random gaps between log indexes, lock delays of 0 and
 * 300 ms, small limits: a machine restored from its own snapshot at 0-4 random points must give
 * the same results, events and final snapshot bytes as one that applied everything straight
 * through. Fence tokens and election epochs strictly increase per name; no barrier generation is
 * released twice. 150 runs per case by default; COORD_FUZZ_RUNS=8000 for a long run.
 */
describe('coordination machine: restore anywhere == straight replay', () => {
  for (const delay of [0, 300]) {
    it(`results, events and snapshots agree; tokens and epochs increase (lock delay ${delay} ms)`, () => {
      fc.assert(
        fc.property(
          fc.array(stepArb, { minLength: 30, maxLength: 150 }),
          fc.array(fc.nat(), { maxLength: 4 }),
          (steps, cutsRaw) => {
            const opts = mkOptions(delay);
            const all: Step[] = [
              ...S.map((_, a): Step => ({ t: 'open', a, b: 0, c: 0, d: 0, gap: 1 })),
              ...steps,
            ];
            const cuts = new Set(cutsRaw.map((c) => c % all.length));
            const a = new CoordinationStateMachine(opts);
            let b = new CoordinationStateMachine(opts);
            const evA: CoordinationEvent[] = [];
            const evB: CoordinationEvent[] = [];
            a.onEvent((e) => evA.push(e));
            b.onEvent((e) => evB.push(e));
            const lastTok = new Map<string, bigint>();
            const lastEp = new Map<string, bigint>();
            const released = new Set<string>();
            const tok = (n: string, t: bigint, why: string) => {
              const prev = lastTok.get(n) ?? 0n;
              if (t <= prev) throw new Error(`token for ${n} not increasing: ${prev} -> ${t} (${why})`);
              lastTok.set(n, t);
            };
            const ep = (n: string, t: bigint, why: string) => {
              const prev = lastEp.get(n) ?? 0n;
              if (t <= prev) throw new Error(`epoch for ${n} not increasing: ${prev} -> ${t} (${why})`);
              lastEp.set(n, t);
            };
            let index = 0;
            for (const [i, st] of all.entries()) {
              if (cuts.has(i)) {
                const nb = new CoordinationStateMachine(opts);
                nb.restore(b.snapshot());
                expect(same(nb.snapshot(), b.snapshot())).toBe(true);
                nb.onEvent((e) => evB.push(e));
                b = nb;
              }
              index += st.gap;
              const cmd = cmdOf(a, st, i);
              evA.length = 0;
              evB.length = 0;
              const ra = a.applyCommand(cmd, index);
              const rb = b.applyCommand(cmd, index);
              expect(jsonish(rb)).toBe(jsonish(ra));
              expect(jsonish(evB)).toBe(jsonish(evA));
              for (const e of evA) {
                if (e.kind === 'lock_granted') tok(e.name, e.fenceToken, `grant@${index}`);
                if (e.kind === 'election_leader' && e.sessionId !== null)
                  ep(e.name, e.epoch, `leader@${index}`);
                if (e.kind === 'barrier_released') {
                  const k = `${e.name}@${e.generation}`;
                  if (released.has(k)) throw new Error(`released twice ${k}`);
                  released.add(k);
                }
              }
              if (cmd.type === 'LockAcquire' && ra.ok && ra.outcome === 'acquired' && ra.position === 1)
                tok(cmd.name, ra.fenceToken, `acquire@${index}`);
            }
            expect(same(a.snapshot(), b.snapshot())).toBe(true);
            for (const k of KEYS) expect(jsonish(b.kvGet(k))).toBe(jsonish(a.kvGet(k)));
          },
        ),
        { numRuns: Number(process.env.COORD_FUZZ_RUNS ?? 150) },
      );
    });
  }
});
