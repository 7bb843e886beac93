/**
 * The exactly-once table's bytes are bounded: a put's cached result does not keep a copy of the
 * value it wrote (a retry carries the value again), and what cannot be compacted is bounded per
 * client and in total by replacing the oldest results with stubs (a retry of one gets
 * SEQUENCE_EXPIRED: indeterminate), decided by the log alone and never applying a retry twice.
 */
import { describe, expect, it } from 'vitest';
import { type CommandMessage, decodeResultMessage, encodeCommandMessage } from '../../generated/index.js';
import { createCoordinationReplica } from '../../runtime/coordination/codec.js';
import {
  type DedupOptions,
  DedupStateMachine,
  encodeEnvelope,
  SEQUENCE_EPOCH,
} from '../../runtime/server/envelope.js';
import { bytes, text } from '../coordination/helpers.js';

const seq = (n: number) => 5 * SEQUENCE_EPOCH + n;
/** Byte equality without the deep-equality walk over every element (large buffers). */
const same = (x: Uint8Array, y: Uint8Array) => Buffer.from(x).equals(Buffer.from(y));
const put = (key: string, value: Uint8Array, actor = 'a'): CommandMessage => ({
  type: 'KvPut',
  key,
  value,
  context: { entries: [] },
  actor,
});

function machine(opts: DedupOptions = {}) {
  const replica = createCoordinationReplica({
    conflictRules: [{ prefix: 'app/', strategy: 'application_callback' }],
  });
  const dedup = new DedupStateMachine(replica, opts);
  let index = 10;
  const apply = (clientId: string, sequence: number, cmd: CommandMessage) =>
    decodeResultMessage(
      dedup.apply(
        encodeEnvelope({ clientId, sequence, command: encodeCommandMessage(cmd) }),
        ++index,
      ) as Uint8Array,
    );
  return { replica, dedup, apply };
}

describe('dedup table bytes', () => {
  it('one client rewriting one key 256 times keeps no copies of the value (snapshot ~ state)', () => {
    const { replica, dedup, apply } = machine();
    const value = new Uint8Array(64 * 1024).fill(7);
    for (let i = 1; i <= 256; i++) apply('c', seq(i), put('k', value));
    const state = replica.snapshot().length;
    expect(Math.round(dedup.snapshot().length / state)).toBe(1);
    expect(dedup.cachedResultBytes).toBeLessThan(256 * 1024);
  });

  it('a retried large put is answered exactly as the first time, without applying again', () => {
    const { dedup, apply } = machine();
    const value = new Uint8Array(20 * 1024).fill(3);
    const first = apply('c', seq(1), put('k', value));
    apply('c', seq(2), put('other', new Uint8Array([1])));
    const again = apply('c', seq(1), put('k', value));
    expect(again).toEqual(first);
    expect(dedup.duplicates).toBe(1);
    expect(dedup.cachedResultBytes).toBeLessThan(1024);
    // Also after a snapshot round trip (another member restoring it).
    const b = new DedupStateMachine(createCoordinationReplica());
    b.restore(dedup.snapshot());
    const retry = encodeEnvelope({
      clientId: 'c',
      sequence: seq(1),
      command: encodeCommandMessage(put('k', value)),
    });
    expect(decodeResultMessage(b.apply(retry, 99) as Uint8Array)).toEqual(first);
    expect(same(b.snapshot(), dedup.snapshot())).toBe(true);
  });

  it('results that cannot be compacted are bounded per client; an evicted one is SEQUENCE_EXPIRED, never applied twice', () => {
    const budget = 300 * 1024;
    const { replica, dedup, apply } = machine({ maxResultBytesPerClient: budget });
    const val = (n: number) => new Uint8Array(30 * 1024).fill(n);
    // Concurrent writes to an application_callback key: each result carries every sibling
    // (60, 90, 120, 150 KiB: 420 KiB in all).
    apply('w', seq(1), put('app/k', val(1), 'w1'));
    const results = [];
    for (let i = 2; i <= 5; i++) results.push(apply('c', seq(i), put('app/k', val(i), `w${i}`)));
    expect(dedup.cachedResultBytes).toBeLessThanOrEqual(budget + 1024); // + 'w''s small result
    const stateBefore = replica.snapshot();
    // The two oldest of c's results were dropped: their retries are indeterminate, change nothing.
    for (const i of [2, 3])
      expect(apply('c', seq(i), put('app/k', val(i), `w${i}`)).errorCode).toBe('SEQUENCE_EXPIRED');
    expect(same(replica.snapshot(), stateBefore)).toBe(true);
    // The newer ones are still answered in full.
    expect(apply('c', seq(4), put('app/k', val(4), 'w4'))).toEqual(results[2]);
    expect(apply('c', seq(5), put('app/k', val(5), 'w5'))).toEqual(results[3]);
    expect(same(replica.snapshot(), stateBefore)).toBe(true);
  });

  it("the total budget drops the idlest clients' results first, identically on every member", () => {
    const opts = { maxResultBytesPerClient: 1024 * 1024, maxResultBytes: 450 * 1024 };
    const a = machine(opts);
    const b = machine(opts);
    const val = (n: number) => new Uint8Array(50 * 1024).fill(n);
    // Each client writes its own application_callback key twice, concurrently: a 100 KiB result.
    for (const m of [a, b])
      for (let i = 0; i < 6; i++) {
        m.apply(`c${i}`, seq(1), put(`app/${i}`, val(1), 'p'));
        m.apply(`c${i}`, seq(2), put(`app/${i}`, val(2), 'q'));
      }
    expect(a.dedup.cachedResultBytes).toBeLessThanOrEqual(450 * 1024);
    expect(same(a.dedup.snapshot(), b.dedup.snapshot())).toBe(true);
    const retry = (i: number) => a.apply(`c${i}`, seq(2), put(`app/${i}`, val(2), 'q'));
    expect([0, 1, 2, 3, 4, 5].map((i) => retry(i).errorCode)).toEqual([
      'SEQUENCE_EXPIRED',
      'SEQUENCE_EXPIRED',
      '',
      '',
      '',
      '',
    ]);
    // A member restoring the snapshot counts the same bytes and answers the same.
    const c = new DedupStateMachine(
      createCoordinationReplica({ conflictRules: [{ prefix: 'app/', strategy: 'application_callback' }] }),
      opts,
    );
    c.restore(b.dedup.snapshot());
    expect(c.cachedResultBytes).toBe(b.dedup.cachedResultBytes);
    expect(same(c.snapshot(), b.dedup.snapshot())).toBe(true);
  });

  it('each kept form (fill, stub, full) answers the same retry after a snapshot round trip', () => {
    const { dedup, apply } = machine({ maxResultBytesPerClient: 150 * 1024 });
    const big = new Uint8Array(64 * 1024).fill(1);
    apply('c', seq(1), put('k', big)); // kept without its value
    apply('w', seq(1), put('app/k', new Uint8Array(100 * 1024).fill(2), 'x'));
    apply('c', seq(2), put('app/k', new Uint8Array(100 * 1024).fill(3), 'y')); // 200 KiB: dropped
    apply('c', seq(3), put('z', new Uint8Array([1]))); // small: kept in full
    const retries = [
      [seq(1), put('k', big)],
      [seq(2), put('app/k', new Uint8Array(100 * 1024).fill(3), 'y')],
      [seq(3), put('z', new Uint8Array([1]))],
    ] as const;
    const answers = (m: Pick<ReturnType<typeof machine>, 'apply'>) =>
      retries.map(([s, cmd]) => {
        const r = m.apply('c', s, cmd);
        return {
          ok: r.ok,
          errorCode: r.errorCode,
          value: r.value ? Buffer.from(r.value).toString('base64') : null,
        };
      });
    const restored = machine({ maxResultBytesPerClient: 150 * 1024 });
    restored.dedup.restore(dedup.snapshot());
    const after = answers(restored);
    expect(after.map((a) => a.errorCode)).toEqual(['', 'SEQUENCE_EXPIRED', '']);
    expect(after).toEqual(answers({ apply }));
    expect(restored.dedup.cachedResultBytes).toBe(dedup.cachedResultBytes);
  });
});

describe('the slim form of a cached put', () => {
  it('a retry carrying another value under the same sequence is answered SEQUENCE_EXPIRED, never with a value not written', () => {
    const replica = createCoordinationReplica();
    const d = new DedupStateMachine(replica);
    const sequence = seq(1);
    const put = (v: string) =>
      encodeEnvelope({
        clientId: 'c',
        sequence,
        command: encodeCommandMessage({
          type: 'KvPut',
          key: 'k',
          value: bytes(v),
          context: { entries: [] },
          actor: 'c',
        }),
      });
    const A = 'A'.repeat(2000);
    const B = 'B'.repeat(2000);
    d.apply(put(A), 1);
    const r = decodeResultMessage(d.apply(put(B), 2) as Uint8Array);
    expect(text(replica.machine.kvGet('k').value)?.[0]).toBe('A');
    // The slim cached form rebuilds the value from the retry; its digest must match (found by review).
    expect(r.ok).toBe(false);
    expect(r.errorCode).toBe('SEQUENCE_EXPIRED');
    // The same value again gets the full answer back.
    const same = decodeResultMessage(d.apply(put(A), 3) as Uint8Array);
    expect(text(same.value)?.[0]).toBe('A');
  });
});
