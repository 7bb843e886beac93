import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SPEC_TESTS } from '../../generated/index.js';

// The spec's election and replication tests are owned by the Raft suite: each must have a real
// scenario here, a vitest test whose name starts with the spec test's name and a colon.
const OWNED = SPEC_TESTS.filter((t) => t.category === 'election' || t.category === 'replication');

describe('spec test registry (raft)', () => {
  const dir = dirname(fileURLToPath(import.meta.url));
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => readFileSync(join(dir, f), 'utf8'));
  it('covers the eight election and replication spec tests', () => {
    expect(OWNED.map((t) => t.name).sort()).toEqual([
      'commit_on_majority',
      'consistency_check',
      'election_split_vote',
      'leader_election_basic',
      'log_replication_basic',
      'pre_vote_prevents_disruption',
      'snapshot_compaction',
      'term_monotonic',
    ]);
  });
  for (const t of OWNED) {
    it(`${t.name} has a scenario`, () => {
      const title = new RegExp(`\\bit\\(\\s*['"\`]${t.name}:`);
      expect(
        sources.some((src) => title.test(src)),
        `no test named "${t.name}: ..." in test/raft`,
      ).toBe(true);
    });
  }
});
