import { describe, expect, it } from 'vitest';
import { fuzzSeed, STATS } from './wal-model.js';

/**
 * The WAL and snapshot store against a model, on the simulator's crashing disk: random appends,
 * suffix overwrites, votes, snapshots and compactions (serial or concurrent), a crash at a random
 * fs call (recovery included) and six restarts per seed. After each restart the recovered state
 * must equal the model after some prefix of the issued records that holds every acknowledged one.
 * Seeds per case: 25 in the default run; `WAL_FUZZ_SEEDS=600 npm run fuzz:wal` for a long run.
 */
const N = Number(process.env.WAL_FUZZ_SEEDS ?? 25);

describe('WAL model fuzz on the crashing simulated disk', () => {
  for (const [name, opts] of [
    ['sparse, raft-like, serial compaction', { raftLike: true }],
    [
      'zero, raft-like, concurrent compaction, leader snapshots',
      { raftLike: true, preallocate: 'zero', concurrentCompaction: true, leaderSnapshots: true },
    ],
    [
      'sparse, arbitrary terms, leader snapshots, concurrent compaction',
      { leaderSnapshots: true, concurrentCompaction: true },
    ],
    [
      'zero, raft-like, concurrent compaction, leader snapshots, half the saves on the calling thread',
      {
        raftLike: true,
        preallocate: 'zero',
        concurrentCompaction: true,
        leaderSnapshots: true,
        saveNow: true,
      },
    ],
  ] as const) {
    it(name, async () => {
      const fails: string[] = [];
      let steps = 0;
      let rec = 0;
      for (let seed = 1; seed <= N; seed++) {
        const r = await fuzzSeed(seed, opts);
        steps += r.steps;
        rec += r.recoveries;
        if (!r.ok) fails.push(`seed ${seed}: ${r.message}`);
      }
      expect(fails.slice(0, 3)).toEqual([]);
      // Not vacuous: the seeds really wrote, crashed and recovered.
      expect(steps).toBeGreaterThan(N * 10);
      expect(rec).toBeGreaterThan(N);
    });
  }
});

describe('WAL model fuzz with one injected EIO per incarnation: nothing acknowledged after a failure', () => {
  for (const op of [undefined, 'write', 'sync', 'syncDir', 'rename', 'remove']) {
    it(`EIO on ${op ?? 'any op'}`, async () => {
      const fails: string[] = [];
      for (let seed = 1; seed <= N; seed++) {
        const r = await fuzzSeed(seed, {
          raftLike: true,
          leaderSnapshots: true,
          concurrentCompaction: true,
          inject: true,
          injectOp: op,
        });
        if (!r.ok) fails.push(`seed ${seed}: ${r.message}`);
      }
      expect(fails.slice(0, 3)).toEqual([]);
    });
  }
});

it('harness self-check: acknowledging before sync is caught', async () => {
  let caught = 0;
  for (let seed = 1; seed <= 40; seed++)
    if (!(await fuzzSeed(seed, { raftLike: true, sanityAckEarly: true })).ok) caught++;
  expect(caught).toBeGreaterThan(5);
});

it('the fuzz runs covered crashes, torn tails and segment turnover', () => {
  expect(STATS.crashes).toBeGreaterThan(0);
  expect(STATS.tornTail).toBeGreaterThan(0);
  expect(STATS.segCreated).toBeGreaterThan(0);
  expect(STATS.segRemoved).toBeGreaterThan(0);
});
