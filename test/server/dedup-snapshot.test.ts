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
});
