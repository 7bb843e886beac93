/**
 * The public `createNode` on the real env (TCP on loopback, node:fs + WAL in temp dirs), and the
 * argument errors of `createNode`.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import { createNode, type EmbeddedNode } from '../../runtime/embedded-node.js';
import { createWorld } from '../../sim/world.js';
import { until } from '../helpers/until.js';
import { freePorts } from '../server/helpers.js';

const FAST = { electionTimeoutMin: 150, electionTimeoutMax: 300, heartbeatInterval: 30 };
const SMALL = { segmentSize: 1 << 20 }; // keep temp dirs small (the default zero-fills 64 MiB)
const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

describe('public createNode on the real env', () => {
  const root = mkdtempSync(join(tmpdir(), 'vibee-embedded-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('three members on loopback: node.client() on the leader, connect() to the ports, close()', async () => {
    const ids = ['n1', 'n2', 'n3'];
    const ports = await freePorts(3);
    const peers = Object.fromEntries(ids.map((id, i) => [id, `127.0.0.1:${ports[i]}`]));
    const nodes: EmbeddedNode[] = [];
    try {
      for (const id of ids)
        nodes.push(await createNode({ id, peers, dataDir: join(root, id), config: FAST, storage: SMALL }));
      expect(nodes.map((n) => n.port)).toEqual(ports);
      const leader = await until('a leader', () => nodes.find((n) => n.status().role === 'leader'), 10_000);

      const c = await leader.client();
      await c.put('k', 'v1');
      expect(text((await c.get('k')).value)).toBe('v1');
      const l1 = await c.lock('L');
      await l1.release();
      const l2 = await c.lock('L');
      expect(l2.fenceToken).toBeGreaterThan(l1.fenceToken);
      await l2.release();

      // The members also serve the client protocol: a TCP client sees the same data.
      const tcp = await connect({ endpoints: Object.values(peers), timeoutMs: 5000 });
      try {
        expect(text((await tcp.get('k')).value)).toBe('v1');
        await tcp.put('k', 'v2');
      } finally {
        await tcp.close();
      }
      expect(text((await c.get('k')).value)).toBe('v2');
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
    // Data went through the WAL into each member's own directory.
    for (const id of ids) expect(readdirSync(join(root, id))).toContain('wal');
    // The ports are released: a member restarts on the same address and data.
    const again = await createNode({
      id: 'n1',
      peers,
      dataDir: join(root, 'n1'),
      config: FAST,
      storage: SMALL,
    });
    expect(again.status().term).toBeGreaterThan(0); // the persisted term came back
    await again.close();
  }, 30_000);
});

describe('createNode argument errors', () => {
  it('an id list without env is a TypeError', async () => {
    await expect(createNode({ id: 'a', peers: ['a', 'b'] })).rejects.toThrow(TypeError);
    await expect(createNode({ id: 'a', peers: ['a', 'b'] })).rejects.toThrow(/needs an 'env'/);
  });

  it('the real env without dataDir is a TypeError (and nothing is created)', async () => {
    const [port] = await freePorts(1);
    const p = createNode({ id: 'a', peers: { a: `127.0.0.1:${port}` } });
    await expect(p).rejects.toThrow(TypeError);
    await expect(p).rejects.toThrow(/needs 'dataDir'/);
  });

  it('the real env needs its own address in the record, well formed', async () => {
    const dataDir = join(tmpdir(), `vibee-embedded-none-${process.pid}`);
    await expect(createNode({ id: 'a', peers: { b: '127.0.0.1:1' }, dataDir })).rejects.toThrow(/own id 'a'/);
    await expect(createNode({ id: 'a', peers: { a: 'localhost' }, dataDir })).rejects.toThrow(TypeError);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('with an env, a record of peers gives the ids', async () => {
    const world = createWorld({ seed: 5 });
    world.createEnv('a');
    let node: EmbeddedNode | null = null;
    void createNode({ id: 'a', peers: { a: 'ignored:1' }, env: world.env('a'), config: FAST }).then((n) => {
      node = n;
    });
    await world.run({ stopWhen: () => node?.status().role === 'leader', until: 5000 });
    const n = node as EmbeddedNode | null;
    expect(n?.status().config.voters).toEqual(['a']);
    expect(n?.port).toBeNull();
    let closed = false;
    void n?.close().then(() => {
      closed = true;
    });
    await world.run({ stopWhen: () => closed, until: world.now() + 1000 });
    expect(closed).toBe(true);
  });
});
