import { describe, expect, it } from 'vitest';
import { encodeKvCommand, KvStateMachine } from '../../runtime/node/kv-state-machine.js';
import { DedupStateMachine, encodeEnvelope } from '../../runtime/server/envelope.js';

const put = (key: string, value: string) => encodeKvCommand({ op: 'put', key, value });

function filled(): DedupStateMachine {
  const sm = new DedupStateMachine(new KvStateMachine());
  let index = 0;
  for (let i = 1; i <= 5; i++)
    sm.apply(encodeEnvelope({ clientId: 'c1', sequence: i, command: put(`k${i}`, 'v') }), ++index);
  sm.apply(encodeEnvelope({ clientId: 'c2', sequence: 1, command: put('x', 'y') }), ++index);
  return sm;
}

describe('DedupStateMachine snapshots', () => {
  it('round-trips the inner state and the dedup table (a retried sequence is still answered from the cache)', () => {
    const a = filled();
    const b = new DedupStateMachine(new KvStateMachine());
    b.restore(a.snapshot());
    expect(b.inner.snapshot()).toEqual(a.inner.snapshot());
    expect(b.snapshot()).toEqual(a.snapshot());
    b.apply(encodeEnvelope({ clientId: 'c1', sequence: 3, command: put('k3', 'changed') }), 7);
    expect(b.duplicates).toBe(1);
    expect(b.inner.snapshot()).toEqual(a.inner.snapshot());
  });

  it('restores a version-1 (JSON, base64 inner) snapshot written by earlier releases', () => {
    const a = filled();
    const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
    const inner = a.inner.snapshot();
    const v1 = new TextEncoder().encode(
      JSON.stringify({
        v: 1,
        inner: b64(inner),
        clients: [['c2', 0, 6, [[1, b64(new Uint8Array([1, 2]))]]]],
      }),
    );
    const b = new DedupStateMachine(new KvStateMachine());
    b.restore(v1);
    expect(b.inner.snapshot()).toEqual(inner);
    expect(b.apply(encodeEnvelope({ clientId: 'c2', sequence: 1, command: put('x', 'z') }), 7)).toEqual(
      new Uint8Array([1, 2]),
    );
  });

  it('refuses a truncated snapshot instead of restoring part of it', () => {
    const snap = filled().snapshot();
    expect(() => new DedupStateMachine(new KvStateMachine()).restore(snap.subarray(0, 20))).toThrow(
      /truncated/,
    );
  });

  it('refuses a client table cut short or followed by stray bytes (version 4)', () => {
    const snap = filled().snapshot();
    expect(snap[0]).toBe(0xd4);
    const fresh = () => new DedupStateMachine(new KvStateMachine());
    expect(() => fresh().restore(snap.subarray(0, snap.length - 1))).toThrow(/truncated/);
    expect(() => fresh().restore(Buffer.concat([snap, Buffer.of(0)]))).toThrow(/malformed/);
  });

  it('restores a version-3 snapshot (JSON client table) written by the release before', () => {
    const a = filled();
    const inner = a.inner.snapshot();
    const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
    const result = (seq: number) => {
      const probe = filled();
      return probe.apply(encodeEnvelope({ clientId: 'c1', sequence: seq, command: put(`k${seq}`, 'v') }), 99);
    };
    const table = Buffer.from(
      JSON.stringify({
        forgottenUpTo: 0,
        clients: [['c1', 0, 5, [1, 2, 3, 4, 5].map((q) => [q, b64(result(q) as Uint8Array)])]],
      }),
    );
    const v3 = Buffer.concat([Buffer.of(0xd3), Buffer.alloc(4), Buffer.from(inner), table]);
    v3.writeUInt32BE(inner.length, 1);
    const b = new DedupStateMachine(new KvStateMachine());
    b.restore(new Uint8Array(v3));
    expect(b.inner.snapshot()).toEqual(inner);
    b.apply(encodeEnvelope({ clientId: 'c1', sequence: 3, command: put('k3', 'changed') }), 7);
    expect(b.duplicates).toBe(1);
    expect(b.inner.snapshot()).toEqual(inner);
  });

  it('decodes a large client table in steps (no step parses it whole)', () => {
    const a = new DedupStateMachine(new KvStateMachine());
    let index = 0;
    for (let c = 0; c < 40; c++)
      for (let q = 1; q <= 256; q++)
        a.apply(encodeEnvelope({ clientId: `c${c}`, sequence: q, command: put(`k${c}`, 'v') }), ++index);
    const b = new DedupStateMachine(new KvStateMachine());
    const steps = b.restoreSteps(a.snapshot());
    let yielded = 0;
    while (!steps.next().done) yielded++;
    // 40 x 256 cached results at most 4,096 per step.
    expect(yielded).toBeGreaterThanOrEqual(2);
    expect(b.snapshot()).toEqual(a.snapshot());
  });
});
