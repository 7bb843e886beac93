import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import { parseConflictRules } from '../../runtime/coordination/conflict-rules.js';
import { CoordinationError } from '../../runtime/coordination/errors.js';
import { startTestCluster, type TestCluster } from './helpers.js';

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

describe('conflict strategies per key prefix, configured on the servers', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster(3, {
      conflictRules: parseConflictRules([
        { prefix: 'counters/', strategy: 'merge_function', merge: 'counter' },
        { prefix: 'carts/', strategy: 'application_callback' },
        { prefix: 'strict/', strategy: 'reject' },
      ]),
    });
    await c.leader();
  });
  afterAll(async () => {
    await c?.close();
  });

  /** Two clients write `key` from the same (empty) context: concurrent by their version vectors. */
  async function concurrentWrites(key: string, a: string, b: string) {
    const [ca, cb] = await Promise.all([
      connect({ endpoints: c.endpoints }),
      connect({ endpoints: c.endpoints }),
    ]);
    try {
      const first = await ca.put(key, a);
      const second = await cb.put(key, b).catch((e: unknown) => e);
      return { first, second, read: await ca.get(key) };
    } finally {
      await Promise.all([ca.close(), cb.close()]);
    }
  }

  it('merge_function: concurrent counter writes merge (per-actor maximum)', async () => {
    const { read } = await concurrentWrites('counters/hits', '{"a":3}', '{"b":4}');
    expect(JSON.parse(text(read.value)!)).toEqual({ a: 3, b: 4 });
  });

  it('application_callback: both values come back as siblings; a write with their context resolves them', async () => {
    const { read } = await concurrentWrites('carts/42', 'apples', 'pears');
    // No single value wins: the reader gets every concurrent value as a sibling.
    expect(read.value).toBeNull();
    expect(read.siblings.map(text).sort()).toEqual(['apples', 'pears']);
    const client = await connect({ endpoints: c.endpoints });
    try {
      await client.put('carts/42', 'apples+pears', { context: read.context });
      const after = await client.get('carts/42');
      expect(text(after.value)).toBe('apples+pears');
      expect(after.siblings).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('reject: the concurrent write fails with a typed conflict error and changes nothing', async () => {
    const { second, read } = await concurrentWrites('strict/owner', 'team-a', 'team-b');
    expect(second).toBeInstanceOf(CoordinationError);
    expect((second as CoordinationError).code).toMatch(/CONFLICT/);
    expect(text(read.value)).toBe('team-a');
  });

  it('without a rule, last writer wins', async () => {
    const { read } = await concurrentWrites('plain/x', 'one', 'two');
    expect(text(read.value)).toBe('two');
    expect(read.siblings).toEqual([]);
  });
});

describe('parseConflictRules', () => {
  it.each([
    [{}, 'conflictRules must be a list'],
    [[{ prefix: 1, strategy: 'reject' }], 'conflictRules[0].prefix must be a string'],
    [
      [{ prefix: 'a', strategy: 'newest' }],
      'conflictRules[0].strategy must be one of last_writer_wins, merge_function',
    ],
    [
      [{ prefix: 'a', strategy: 'merge_function', merge: 'sum' }],
      'conflictRules[0].merge must name a merge function',
    ],
    [
      [{ prefix: 'a', strategy: 'reject', merge: 'max' }],
      'conflictRules[0].merge is only for strategy merge_function',
    ],
    [
      [
        { prefix: 'a', strategy: 'reject' },
        { prefix: 'a', strategy: 'reject' },
      ],
      'conflictRules[1]: prefix "a" is listed twice',
    ],
    [[{ prefix: 'a', strategy: 'reject', extra: 1 }], 'conflictRules[0]: unknown key "extra"'],
  ])('rejects %j with a message naming the rule', (input, message) => {
    expect(() => parseConflictRules(input)).toThrow(message);
  });
});
