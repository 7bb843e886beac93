import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCommandMessage } from '../../generated/index.js';
import { createCoordinationReplica } from '../../runtime/coordination/codec.js';
import { CoordinationStateMachine, SNAPSHOT_STEP_RECORDS } from '../../runtime/coordination/index.js';
import { encodeKvCommand, KvStateMachine } from '../../runtime/node/kv-state-machine.js';
import { DedupStateMachine, encodeEnvelope } from '../../runtime/server/envelope.js';
import { JOIN_STEP_BYTES } from '../../runtime/wire/parts.js';
import { cmdOf, mkOptions, type Step, stepArb } from './command-steps.js';

/**
 * `snapshotSteps()` captures the state when it is called; the node applies more entries between
 * the steps. Whatever is applied meanwhile, the finished bytes must be those `snapshot()` gave at
 * the capture (a member restoring them must get exactly the state at the snapshot's index).
 */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** Runs `steps` to the end, calling `between` after every step. */
function finish(
  steps: Iterator<void, Uint8Array, void>,
  between: () => void,
): { bytes: Uint8Array; pauses: number } {
  let pauses = 0;
  for (;;) {
    const r = steps.next();
    if (r.done) return { bytes: r.value, pauses };
    pauses++;
    between();
  }
}

describe('snapshotSteps: the state at the call, whatever is applied between the steps', () => {
  it('coordination machine: random commands before and between the steps (every kind, compaction included)', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 20, maxLength: 120 }),
        fc.array(stepArb, { minLength: 1, maxLength: 60 }),
        (before: Step[], during: Step[]) => {
          const sm = new CoordinationStateMachine(mkOptions(0));
          let index = 0;
          const apply = (st: Step, i: number) => {
            index += st.gap;
            sm.applyCommand(cmdOf(sm, st, i), index);
          };
          for (const [i, st] of before.entries()) apply(st, i);
          const expected = sm.snapshot();
          const steps = sm.snapshotSteps();
          let next = 0;
          const { bytes } = finish(steps, () => {
            for (let k = 0; k < 3 && next < during.length; k++, next++) {
              apply(during[next] as Step, 1000 + next);
            }
          });
          // Whatever is left runs after the last step (a small state has a single pause).
          for (; next < during.length; next++) {
            apply(during[next] as Step, 1000 + next);
          }
          expect(same(bytes, expected)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('coordination machine: many keys, overwritten, deleted and compacted while the steps run', () => {
    const sm = new CoordinationStateMachine();
    const enc = (s: string) => new TextEncoder().encode(s);
    const n = SNAPSHOT_STEP_RECORDS * 3 + 17;
    let index = 0;
    for (let i = 0; i < n; i++)
      sm.applyCommand(
        { type: 'KvPut', key: `k/${i}`, value: enc(`v${i}`), context: { entries: [] }, actor: 'a' },
        ++index,
      );
    for (let i = 0; i < 100; i++)
      sm.applyCommand(
        { type: 'KvDelete', key: `k/${i}`, context: sm.kvGet(`k/${i}`).context, actor: 'a' },
        ++index,
      );
    const expected = sm.snapshot();
    let i = 100;
    const { bytes, pauses } = finish(sm.snapshotSteps(), () => {
      for (let k = 0; k < 50; k++, i++) {
        sm.applyCommand(
          {
            type: 'KvPut',
            key: `k/${i}`,
            value: enc('new'),
            context: sm.kvGet(`k/${i}`).context,
            actor: 'b',
          },
          ++index,
        );
        sm.applyCommand(
          { type: 'KvPut', key: `fresh/${i}`, value: enc('x'), context: { entries: [] }, actor: 'b' },
          ++index,
        );
        sm.applyCommand(
          { type: 'KvDelete', key: `k/${n - i}`, context: { entries: [] }, actor: 'c' },
          ++index,
        );
      }
      sm.applyCommand({ type: 'KvCompact', appliedFloor: index }, ++index);
    });
    expect(pauses).toBeGreaterThanOrEqual(3);
    expect(same(bytes, expected)).toBe(true);
    // And the bytes restore to the state at the capture.
    const twin = new CoordinationStateMachine();
    twin.restore(bytes);
    expect(new TextDecoder().decode(twin.kvGet('k/150').value ?? new Uint8Array())).toBe('v150');
    expect(twin.kvGet('fresh/150').value).toBeNull();
    expect(twin.kvGet('k/5').value).toBeNull();
  });

  it('dedup wrapper: client results added and evicted between the steps do not leak into the snapshot', () => {
    const d = new DedupStateMachine(createCoordinationReplica(), { window: 8 });
    const put = (client: string, seq: number, key: string, index: number) =>
      d.apply(
        encodeEnvelope({
          clientId: client,
          sequence: seq,
          command: encodeCommandMessage({
            type: 'KvPut',
            key,
            value: new Uint8Array(64).fill(seq & 255),
            context: { entries: [] },
            actor: client,
          }),
        }),
        index,
      );
    let index = 0;
    for (let i = 1; i <= SNAPSHOT_STEP_RECORDS * 2; i++)
      put(`c${i % 7}`, Math.ceil(i / 7), `k/${i}`, ++index);
    const expected = d.snapshot();
    let seq = 10_000;
    const { bytes, pauses } = finish(d.snapshotSteps(), () => {
      for (let k = 0; k < 20; k++) put(`c${k % 9}`, seq++, `k/${k}`, ++index);
    });
    expect(pauses).toBeGreaterThanOrEqual(2);
    expect(same(bytes, expected)).toBe(true);
  });

  it('default KV machine: puts and deletes between the steps do not change the bytes', () => {
    const kv = new KvStateMachine();
    for (let i = 0; i < 5000; i++)
      kv.apply(encodeKvCommand({ op: 'put', key: `k${i}`, value: `v${i}` }), i + 1);
    const expected = kv.snapshot();
    let i = 0;
    const { bytes, pauses } = finish(kv.snapshotSteps(), () => {
      kv.apply(encodeKvCommand({ op: 'put', key: `k${i}`, value: 'changed' }), 10_000 + i);
      kv.apply(encodeKvCommand({ op: 'delete', key: `k${4999 - i}` }), 20_000 + i);
      i++;
    });
    expect(pauses).toBeGreaterThanOrEqual(4);
    expect(same(bytes, expected)).toBe(true);
  });

  it('steps are bounded by bytes too: large values end a step, and the join copies in slices', () => {
    const sm = new CoordinationStateMachine();
    const mib = 1024 * 1024;
    for (let i = 0; i < 12; i++)
      sm.applyCommand(
        {
          type: 'KvPut',
          key: `big/${i}`,
          value: new Uint8Array(mib).fill(i),
          context: { entries: [] },
          actor: 'a',
        },
        i + 1,
      );
    const { bytes, pauses } = finish(sm.snapshotSteps(), () => undefined);
    // A step ends before each record once its part holds a MiB (11), and the 12 MiB join yields too.
    expect(pauses).toBeGreaterThanOrEqual(11 + Math.floor((12 * mib) / JOIN_STEP_BYTES));
    expect(same(bytes, sm.snapshot())).toBe(true);
    const kv = new KvStateMachine();
    for (let i = 0; i < 6; i++)
      kv.apply(encodeKvCommand({ op: 'put', key: `k${i}`, value: 'x'.repeat(mib) }), i + 1);
    expect(finish(kv.snapshotSteps(), () => undefined).pauses).toBeGreaterThanOrEqual(6);
  });

  it('restoreSteps: the old state stays until the last step, then the snapshot state is in place', () => {
    const source = new DedupStateMachine(createCoordinationReplica());
    const put = (d: DedupStateMachine, seq: number, key: string, index: number) =>
      d.apply(
        encodeEnvelope({
          clientId: 'c',
          sequence: seq,
          command: encodeCommandMessage({
            type: 'KvPut',
            key,
            value: new Uint8Array([seq & 255]),
            context: { entries: [] },
            actor: 'c',
          }),
        }),
        index,
      );
    for (let i = 1; i <= SNAPSHOT_STEP_RECORDS * 3; i++) put(source, i, `k/${i}`, i);
    const bytes = source.snapshot();
    const target = new DedupStateMachine(createCoordinationReplica());
    put(target, 1, 'old', 1);
    const replica = (target as unknown as { inner: { machine: CoordinationStateMachine } }).inner.machine;
    const steps = target.restoreSteps(bytes);
    let pauses = 0;
    for (let r = steps.next(); !r.done; r = steps.next()) {
      pauses++;
      // Mid-restore: still the old state, in the machine and in the dedup table alike.
      expect(replica.kvGet('old').value).not.toBeNull();
      expect(replica.kvGet('k/5').value).toBeNull();
    }
    expect(pauses).toBeGreaterThanOrEqual(3);
    expect(replica.kvGet('old').value).toBeNull();
    expect(replica.kvGet('k/5').value).toEqual(new Uint8Array([5]));
    expect(same(target.snapshot(), bytes)).toBe(true);
  });
});
