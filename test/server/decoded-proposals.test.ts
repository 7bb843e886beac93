/**
 * The leader applies its clients' commands as it decoded them on receipt (`DecodedProposals`),
 * not by decoding its log entries again; every other member decodes the entry. Both give the
 * same state and the same result.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeCommandMessage, encodeCommandMessage } from '../../generated/index.js';
import { connect } from '../../runtime/client/client.js';
import { createCoordinationReplica } from '../../runtime/coordination/codec.js';
import { DedupStateMachine, encodeEnvelope } from '../../runtime/server/envelope.js';
import { until } from '../helpers/until.js';
import { startTestCluster, type TestCluster } from './helpers.js';

const text = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : null);

describe('decoded proposals', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster(3);
  });
  afterAll(async () => {
    await c?.close();
  });

  it('the leader applies a put without decoding its entry; followers decode it; all agree', async () => {
    const leader = await c.leader();
    const term = leader.node.status().term;
    const servers = c.servers.filter((s) => s !== null);
    const spies = servers.map((s) => ({
      server: s,
      bytes: vi.spyOn(s.replica, 'apply'),
      decoded: vi.spyOn(s.replica, 'applyDecoded'),
    }));
    const client = await connect({ endpoints: [`127.0.0.1:${leader.port}`], timeoutMs: 5000 });
    try {
      await client.put('k', 'v1');
      await client.put('k', 'v2');
    } finally {
      await client.close();
    }
    const counts = () =>
      spies.map((s) => [
        s.decoded.mock.calls.filter(([cmd]) => cmd.type === 'KvPut').length,
        s.bytes.mock.calls.filter(([b]) => decodeCommandMessage(b).type === 'KvPut').length,
      ]);
    await until('every member applied both puts', () =>
      counts().every(([d, b]) => (d as number) + (b as number) === 2),
    );
    // (A leader change in between would move the puts' proposals elsewhere: not this test's case.)
    expect(leader.node.status()).toMatchObject({ role: 'leader', term });
    expect(counts()).toEqual(servers.map((s) => (s === leader ? [2, 0] : [0, 2])));
    for (const s of servers) expect(text(s.replica.machine.kvGet('k')?.value)).toBe('v2');
    for (const s of spies) {
      s.bytes.mockRestore();
      s.decoded.mockRestore();
    }
  });

  it('a remembered command is used once: the same bytes applied again are decoded', () => {
    const replica = createCoordinationReplica();
    const dedup = new DedupStateMachine(replica);
    const decoded = vi.spyOn(replica, 'applyDecoded');
    const bytesApplied = vi.spyOn(replica, 'apply');
    const command = encodeCommandMessage({
      type: 'KvPut',
      key: 'a',
      value: new Uint8Array([1]),
      context: { entries: [] },
      actor: 'c',
    });
    const envelope = { clientId: 'c', sequence: 1, command };
    const entry = encodeEnvelope(envelope);
    const before = dedup.snapshot();
    dedup.rememberDecoded(entry, envelope, decodeCommandMessage(command));
    const first = dedup.apply(entry, 1);
    expect([decoded.mock.calls.length, bytesApplied.mock.calls.length]).toEqual([1, 0]);
    // The same array applied again from a state that never saw it (a snapshot restored under a
    // log replayed in the same process): decoded from its bytes this time, with the same result.
    dedup.restore(before);
    expect(dedup.apply(entry, 1)).toEqual(first);
    expect([decoded.mock.calls.length, bytesApplied.mock.calls.length]).toEqual([1, 1]);
    // The same result as a member that decodes the entry.
    const other = new DedupStateMachine(createCoordinationReplica());
    expect(other.apply(encodeEnvelope(envelope), 1)).toEqual(first);
  });
});
