/**
 * Model and state-caching edge cases of vibee-consensus/check: an indeterminate acquire's unknown
 * token, and state hashes that must not collide (a collision prunes valid orders).
 */
import { describe, expect, it } from 'vitest';
import {
  checkLinearizability,
  fencedLockModel,
  type KvInput,
  type KvOutput,
  kvModel,
  type LockInput,
  type LockOutput,
  type Model,
  type Operation,
  stableHash,
} from '../../check/index.js';

type LockOp = Operation<LockInput, LockOutput>;
const acq = (client: string, token: bigint | null, call: number, ret: number | null): LockOp => ({
  process: client,
  input: { op: 'acquire', lock: 'L', client },
  output: token === null ? undefined : { token },
  call,
  ret,
});
const rel = (
  client: string,
  token: bigint,
  ok: boolean | null,
  call: number,
  ret: number | null,
): LockOp => ({
  process: client,
  input: { op: 'release', lock: 'L', client, token },
  output: ok === null ? undefined : { ok },
  call,
  ret,
});

describe('fencedLockModel', () => {
  it('sanity: overlapping holders and non-increasing tokens are rejected', () => {
    const m = fencedLockModel();
    expect(checkLinearizability(m, [acq('A', 1n, 0, 1), acq('B', 2n, 2, 3)]).linearizable).toBe(false);
    expect(
      checkLinearizability(m, [acq('A', 2n, 0, 1), rel('A', 2n, true, 2, 3), acq('B', 2n, 4, 5)])
        .linearizable,
    ).toBe(false);
  });

  it('after an indeterminate acquire, a release with a token older than one already granted is refused', () => {
    // A gets token 5 and releases it. Only then does B call acquire (outcome unknown). If that
    // acquire took effect, B's token is > 5; if not, B holds nothing. Either way B's release with
    // token 3 cannot succeed. The model treats the unknown token (-1n) as matching ANY token.
    const h = [
      acq('A', 5n, 0, 1),
      rel('A', 5n, true, 2, 3),
      acq('B', null, 4, null),
      rel('B', 3n, true, 6, 7),
    ];
    expect(checkLinearizability(fencedLockModel(), h).linearizable).toBe(false);
    expect(checkLinearizability(fencedLockModel({ leases: true }), h).linearizable).toBe(false);
  });
});

describe('state caching (hash collisions prune valid linearizations)', () => {
  type KvOp = Operation<KvInput, KvOutput>;
  it("kvModel.hash tells the value '\\u0000null' from the absent value (null)", () => {
    const v = '\u0000null';
    // Valid order: delete, put, get -> v. The search first tries put, delete (state null, cached
    // under the same hash as state v), then prunes delete, put as "already explored".
    const h: KvOp[] = [
      { process: 'a', input: { op: 'put', key: 'k', value: v }, output: {}, call: 0, ret: 10 },
      { process: 'b', input: { op: 'delete', key: 'k' }, output: {}, call: 0, ret: 10 },
      { process: 'c', input: { op: 'get', key: 'k' }, output: { value: v }, call: 20, ret: 30 },
    ];
    expect(checkLinearizability(kvModel, h).linearizable).toBe(true);
  });

  it('stableHash hashes a Date, ArrayBuffer or DataView by its content', () => {
    // A user model whose state is a Date, using the default hash: a valid history is rejected.
    const m: Model<Date | null, { set?: number }, { value: number | null }> = {
      init: () => null,
      step: (s, i, o) =>
        i.set !== undefined
          ? [true, new Date(i.set)]
          : [o === undefined || o.value === (s === null ? null : s.getTime()), s],
    };
    const h: Operation<{ set?: number }, { value: number | null }>[] = [
      { process: 'a', input: { set: 1 }, output: { value: null }, call: 0, ret: 10 },
      { process: 'b', input: { set: 2 }, output: { value: null }, call: 0, ret: 10 },
      { process: 'c', input: {}, output: { value: 1 }, call: 20, ret: 30 },
    ];
    expect(checkLinearizability(m, h).linearizable).toBe(true);
    expect(stableHash(new Date(1))).not.toBe(stableHash(new Date(2)));
    expect(stableHash(new Uint16Array([1]).buffer)).not.toBe(stableHash(new Uint16Array([2]).buffer));
  });
});
