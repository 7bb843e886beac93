import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHardState, encodeHardState, type HardState } from '../../runtime/storage/record.js';

const hardState = fc.record({
  term: fc.nat({ max: 2 ** 40 }),
  votedFor: fc.option(
    fc.oneof(fc.constantFrom('n1', 'n2', 'n3'), fc.string({ unit: 'grapheme', maxLength: 12 })),
    {
      nil: null,
    },
  ),
  commit: fc.nat({ max: 2 ** 40 }),
});

describe('hard state record payload', () => {
  it('round-trips any sequence of hard states (the encoder keeps the last vote encoded)', () => {
    fc.assert(
      fc.property(fc.array(hardState, { minLength: 1, maxLength: 20 }), (states: HardState[]) => {
        for (const hs of states) expect(decodeHardState(encodeHardState(hs))).toEqual(hs);
      }),
    );
  });
});
