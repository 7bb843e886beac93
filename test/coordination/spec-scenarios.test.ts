import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SPEC_TESTS } from '../../generated/index.js';

// The spec's lock, barrier and scheduler tests are owned by the coordination suite: each must have
// a real scenario here, a vitest test whose name starts with the spec test's name.
const OWNED = SPEC_TESTS.filter(
  (t) => t.category === 'locks' || t.category === 'barriers' || t.name === 'locks_with_scheduler',
);

describe('spec test registry (coordination)', () => {
  const dir = dirname(fileURLToPath(import.meta.url));
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => readFileSync(join(dir, f), 'utf8'));
  it('covers the eight coordination spec tests', () => {
    expect(OWNED.map((t) => t.name).sort()).toEqual([
      'barrier_all_arrive',
      'barrier_timeout',
      'fenced_lock_token',
      'lock_acquire_release',
      'lock_contention',
      'lock_lease_expiry',
      'locks_with_scheduler',
      'partial_barrier',
    ]);
  });
  for (const t of OWNED) {
    it(`${t.name} has a scenario`, () => {
      const title = new RegExp(`\\bit\\(\\s*['"\`]${t.name}:`);
      const found = sources.some((src) => title.test(src));
      expect(found, `no test named "${t.name}: ..." in test/coordination`).toBe(true);
    });
  }
});
