/**
 * Exactly-once across a forgotten client: once the dedup table has forgotten a client (more than
 * `maxClients` others used it since), a retry from it must not be applied a second time.
 */
import { describe, expect, it } from 'vitest';
import { decodeResultMessage } from '../../generated/index.js';
import { encodeKvCommand, KvStateMachine } from '../../runtime/node/kv-state-machine.js';
import { DedupStateMachine, encodeEnvelope, SEQUENCE_EPOCH } from '../../runtime/server/envelope.js';

/** A KV machine that counts how often each key was written. */
class CountingKv extends KvStateMachine {
  readonly writes = new Map<string, number>();
  override apply(command: Uint8Array, index: number): unknown {
    const key = JSON.parse(new TextDecoder().decode(command)).key as string;
    this.writes.set(key, (this.writes.get(key) ?? 0) + 1);
    return super.apply(command, index);
  }
}

const put = (key: string) => encodeKvCommand({ op: 'put', key, value: 'v' });

function world(maxClients = 4) {
  const inner = new CountingKv();
  const sm = new DedupStateMachine(inner, { maxClients });
  let index = 10;
  const apply = (clientId: string, sequence: number, key: string) => {
    const r = sm.apply(encodeEnvelope({ clientId, sequence, command: put(key) }), ++index);
    return { index, result: r instanceof Uint8Array && r[0] !== 0x7b ? decodeResultMessage(r) : r };
  };
  /** `n` other clients, one command each, numbered in the current epoch: pushes older clients out. */
  const churn = (n: number) => {
    for (let i = 0; i < n; i++) apply(`other-${index}-${i}`, index * SEQUENCE_EPOCH + 1, `o${index}`);
  };
  return { sm, inner, apply, churn, index: () => index };
}

describe('a forgotten client (sequence epochs)', () => {
  it('a retry numbered before the client was forgotten gets SEQUENCE_EXPIRED, not a second write', () => {
    const w = world();
    const epoch = w.index(); // the client saw this index committed before numbering its command
    const seq = epoch * SEQUENCE_EPOCH + 1;
    w.apply('victim', seq, 'once');
    w.churn(4); // maxClients 4: the victim is forgotten
    const retry = w.apply('victim', seq, 'once');
    expect(retry.result).toMatchObject({ ok: false, errorCode: 'SEQUENCE_EXPIRED' });
    expect(w.inner.writes.get('once')).toBe(1);
  });

  it('the same client is accepted again once it numbers from an index after it was forgotten', () => {
    const w = world();
    w.apply('victim', w.index() * SEQUENCE_EPOCH + 1, 'a');
    w.churn(4);
    const fresh = w.index() * SEQUENCE_EPOCH + 1;
    expect(w.apply('victim', fresh, 'b').result).not.toMatchObject({ errorCode: 'SEQUENCE_EXPIRED' });
    expect(w.inner.writes.get('b')).toBe(1);
    // ...and its old epoch stays closed: the new record's floor is the new epoch's start.
    expect(w.apply('victim', fresh - SEQUENCE_EPOCH, 'c').result).toMatchObject({
      errorCode: 'SEQUENCE_EXPIRED',
    });
    expect(w.inner.writes.get('c')).toBeUndefined();
  });

  it('new clients numbering from a recent index are accepted however many were forgotten', () => {
    const w = world();
    for (let round = 0; round < 5; round++) {
      w.churn(10);
      const r = w.apply(`new-${round}`, w.index() * SEQUENCE_EPOCH + 1, `n${round}`);
      expect(r.result).not.toMatchObject({ errorCode: 'SEQUENCE_EXPIRED' });
    }
  });

  it('unstamped sequences (epoch 0, logs written before epochs) keep the old rule', () => {
    const w = world();
    w.apply('legacy', 1, 'l');
    w.churn(4);
    w.apply('legacy', 1, 'l');
    expect(w.inner.writes.get('l')).toBe(2); // what an old member replaying this log did too
  });

  it('forgetting clients that never numbered in epochs does not count (old logs replay alike)', () => {
    // A member replaying a log written before epochs, with evictions in it, must end where a member
    // restoring a snapshot of that era (forgottenUpTo 0) does: both accept the same new client.
    const replaying = world();
    for (let i = 0; i < 20; i++) replaying.apply(`legacy-${i}`, 1, `l${i}`);
    const fresh = new DedupStateMachine(new CountingKv(), { maxClients: 4 });
    const cmd = encodeEnvelope({ clientId: 'new', sequence: 1 * SEQUENCE_EPOCH + 1, command: put('n') });
    const a = replaying.sm.apply(cmd, 100);
    const b = fresh.apply(cmd, 100);
    expect(a).toEqual(b);
    expect(replaying.inner.writes.get('n')).toBe(1);
  });

  it('the forgotten mark survives a snapshot, and a version-2 snapshot restores with none', () => {
    const w = world();
    const seq = w.index() * SEQUENCE_EPOCH + 1;
    w.apply('victim', seq, 'once');
    w.churn(4);
    const restored = new DedupStateMachine(new CountingKv(), { maxClients: 4 });
    restored.restore(w.sm.snapshot());
    const r = restored.apply(
      encodeEnvelope({ clientId: 'victim', sequence: seq, command: put('once') }),
      100,
    );
    expect(decodeResultMessage(r as Uint8Array)).toMatchObject({ errorCode: 'SEQUENCE_EXPIRED' });

    const inner = w.sm.inner.snapshot();
    const table = Buffer.from(JSON.stringify([['c', 0, 5, []]]));
    const v2 = Buffer.concat([Buffer.of(0xd2), Buffer.alloc(4), Buffer.from(inner), table]);
    v2.writeUInt32BE(inner.length, 1);
    const old = new DedupStateMachine(new CountingKv(), { maxClients: 4 });
    old.restore(new Uint8Array(v2));
    expect(old.inner.snapshot()).toEqual(inner);
    expect(old.snapshot()[0]).toBe(0xd4);
  });
});
