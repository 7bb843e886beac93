/**
 * A client the servers' dedup table forgot (more than `maxClients` other clients since its last
 * command) keeps working, and its sequences carry an epoch so that the table could tell its retries
 * from new commands (see DedupStateMachine; the table-level rules are in
 * test/server/dedup-forgotten.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedClient } from '../../runtime/client/client.js';
import { createCoordinationReplica } from '../../runtime/coordination/codec.js';
import { createNode, type EmbeddedNode } from '../../runtime/embedded-node.js';
import { DedupStateMachine, readDedupSnapshotTable, SEQUENCE_EPOCH } from '../../runtime/server/envelope.js';
import { freePorts } from '../server/helpers.js';

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

/** The dedup table as a snapshot records it: client id -> cached sequences. */
function table(dedup: DedupStateMachine): { forgottenUpTo: number; clients: Map<string, number[]> } {
  const t = readDedupSnapshotTable(dedup.snapshot());
  return {
    forgottenUpTo: t.forgottenUpTo,
    clients: new Map([...t.clients].map(([id, c]) => [id, c.sequences])),
  };
}

describe('a client forgotten by the dedup table', () => {
  let root: string;
  let node: EmbeddedNode;
  const replica = createCoordinationReplica();
  const dedup = new DedupStateMachine(replica, { maxClients: 2 });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vibee-forgotten-'));
    const [port] = await freePorts(1);
    node = await createNode({
      id: 'solo',
      peers: { solo: `127.0.0.1:${port}` },
      dataDir: root,
      config: { electionTimeoutMin: 150, electionTimeoutMax: 300, heartbeatInterval: 30 },
      storage: { segmentSize: 1 << 20 },
      stateMachine: dedup,
    });
    const end = Date.now() + 5000;
    while (node.status().role !== 'leader' && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(async () => {
    await node?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('numbers its commands from a committed index, and is accepted again after being forgotten', async () => {
    const victim = await createEmbeddedClient(node, replica, { clientId: 'victim' });
    const others = await Promise.all(
      ['o1', 'o2', 'o3'].map((clientId) => createEmbeddedClient(node, replica, { clientId })),
    );
    try {
      await victim.put('v', '1');
      const [seq] = table(dedup).clients.get('victim') ?? [];
      expect(seq).toBeGreaterThan(SEQUENCE_EPOCH); // epoch = a committed index, never 0 here

      // maxClients 2: the victim goes. The last of them numbered its first command at the index it
      // saw when it was created, before the two others made the table forget anyone: the cluster
      // answers SEQUENCE_EXPIRED, and since that attempt was the only one, the client renumbers it
      // under a new epoch and sends it again, applied once.
      for (const [i, o] of others.entries()) await o.put(`o${i}`, 'x');
      for (const [i, o] of others.entries()) expect(text((await o.get(`o${i}`)).value)).toBe('x');
      const after = table(dedup);
      expect(after.clients.has('victim')).toBe(false);
      expect(after.forgottenUpTo).toBeGreaterThan(0);

      // Idle since, so its next command starts a new epoch at the index it last saw: accepted.
      await victim.put('v', '2');
      expect(text((await victim.get('v')).value)).toBe('2');
      const [seq2] = table(dedup).clients.get('victim') ?? [];
      expect(Math.floor((seq2 as number) / SEQUENCE_EPOCH)).toBeGreaterThanOrEqual(after.forgottenUpTo);
    } finally {
      await Promise.all([victim, ...others].map((c) => c.close()));
    }
  });
});
