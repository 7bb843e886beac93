import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeCommandMessage } from '../../generated/index.js';
import { createCoordinationReplica } from '../../runtime/coordination/codec.js';
import { CoordinationStateMachine } from '../../runtime/coordination/index.js';
import { encodeKvCommand, KvStateMachine } from '../../runtime/node/kv-state-machine.js';
import { DedupStateMachine, encodeEnvelope } from '../../runtime/server/envelope.js';

/**
 * Snapshot bytes against golden digests: the coordination (v2), dedup and default KV formats as
 * written by 3690faf, the release before snapshots were serialised in steps, except the dedup
 * snapshot's, which is version 4 since 5f00766 (its client table in binary; version 3 still
 * restores: test/server/dedup-snapshot.test.ts). Members of mixed
 * releases restore each other's snapshots, so a different digest here is a format change: it needs
 * a new version tag and a restore path for the old one, not a new digest. The states cross every
 * step boundary (records, bytes, results, join slices) and hold a 3 MiB value.
 */
const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 32);
const enc = (s: string) => new TextEncoder().encode(s);

describe('snapshot formats: golden bytes', () => {
  it('coordination, dedup and KV snapshots are byte for byte those of the release before steps', () => {
    // 1: coordination machine
    const sm = new CoordinationStateMachine({
      conflictRules: [{ prefix: 'app/', strategy: 'application_callback' }],
    });
    let i = 0;
    sm.applyCommand({ type: 'SessionOpen', sessionId: 's1', clientId: 'c1', ttlMs: 5000 }, ++i);
    sm.applyCommand({ type: 'SessionOpen', sessionId: 's2', clientId: 'c2', ttlMs: 5000 }, ++i);
    sm.applyCommand(
      {
        type: 'LockAcquire',
        sessionId: 's1',
        name: 'L',
        requestId: 'r1',
        ttlMs: 1000,
        waitMs: 0,
        tryOnly: false,
      },
      ++i,
    );
    sm.applyCommand(
      {
        type: 'LockAcquire',
        sessionId: 's2',
        name: 'L',
        requestId: 'r2',
        ttlMs: 1000,
        waitMs: 500,
        tryOnly: false,
      },
      ++i,
    );
    sm.applyCommand(
      { type: 'BarrierArrive', sessionId: 's1', name: 'B', participants: 3, threshold: 1, timeoutMs: 1000 },
      ++i,
    );
    sm.applyCommand({ type: 'ElectionCampaign', sessionId: 's2', name: 'E', value: enc('me') }, ++i);
    for (let k = 0; k < 3000; k++)
      sm.applyCommand(
        {
          type: 'KvPut',
          key: `k/${k}`,
          value: enc(`v${k}`.repeat(1 + (k % 7))),
          context: { entries: [] },
          actor: `a${k % 3}`,
        },
        ++i,
      );
    for (let k = 0; k < 40; k++)
      sm.applyCommand(
        { type: 'KvPut', key: 'app/x', value: enc(`c${k}`), context: { entries: [] }, actor: `w${k % 4}` },
        ++i,
      );
    for (let k = 0; k < 100; k++)
      sm.applyCommand(
        { type: 'KvDelete', key: `k/${k}`, context: sm.kvGet(`k/${k}`).context, actor: 'd' },
        ++i,
      );
    sm.applyCommand(
      {
        type: 'KvPut',
        key: 'big',
        value: new Uint8Array(3 * 1024 * 1024).fill(9),
        context: { entries: [] },
        actor: 'b',
      },
      ++i,
    );
    sm.applyCommand({ type: 'TimeAdvance', elapsedMs: 100 }, ++i);
    sm.applyCommand({ type: 'KvCompact', appliedFloor: 3050 }, ++i);
    // 2: dedup
    const d = new DedupStateMachine(createCoordinationReplica(), { window: 16 });
    for (let k = 1; k <= 3000; k++)
      d.apply(
        encodeEnvelope({
          clientId: `c${k % 5}`,
          sequence: Math.ceil(k / 5),
          command: encodeCommandMessage({
            type: 'KvPut',
            key: `k/${k % 700}`,
            value: new Uint8Array(k % 2000).fill(k & 255),
            context: { entries: [] },
            actor: `c${k % 5}`,
          }),
        }),
        k,
      );
    // 3: KV
    const kv = new KvStateMachine();
    for (let k = 0; k < 3000; k++)
      kv.apply(encodeKvCommand({ op: 'put', key: `k${k}\u2028"q"`, value: `v${k}\ud800é` }), k + 1);

    expect(digest(sm.snapshot())).toBe('07f5c5e9573f9e1f1389ad07f0d2440b');
    expect(digest(d.snapshot())).toBe('49fdef9f5ff0791e956de5ba8e06fe5f');
    expect(digest(kv.snapshot())).toBe('eba5d5a1c22ed682d717bc4a28d05441');
  });
});
