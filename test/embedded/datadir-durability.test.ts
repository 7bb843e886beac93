/**
 * createNode({ env, dataDir }) keeps the member's storage under `dataDir` inside env.fs. The WAL
 * syncs only the directories below it, so `dataDir`'s own entry must be made durable by
 * createNode. Before (found by review), a crash on the simulator's disk dropped `data/` with
 * everything under it: the member restarted with an empty log, term 0 and no vote, although it
 * had acknowledged writes (and votes).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createNode } from '../../runtime/embedded-node.js';
import { createDurableDirSync } from '../../runtime/env/node-fs.js';
import { createWorld, type World } from '../../sim/world.js';

const FAST = { electionTimeoutMin: 150, electionTimeoutMax: 300, heartbeatInterval: 30 };

async function drive<T>(world: World, p: Promise<T>, maxMs = 10_000): Promise<T> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await world.run({ stopWhen: () => settled, until: world.now() + maxMs });
  if (!settled) throw new Error(`did not settle within ${maxMs} virtual ms`);
  return p;
}

it('createNode with env + dataDir: the data dir, an acknowledged put and the term survive a crash', async () => {
  const world = createWorld({ seed: 4 });
  const env = world.createEnv('solo');
  const n = await drive(
    world,
    createNode({ id: 'solo', peers: ['solo'], env, dataDir: 'data/solo', config: FAST }),
  );
  await world.run({ stopWhen: () => n.status().role === 'leader', until: 5000 });
  const term = n.status().term;
  const c = await drive(world, n.client());
  await drive(world, c.put('k', 'v'));
  world.crash('solo');
  const env2 = world.restart('solo');
  const listed = await drive(world, env2.fs.list(''));
  const n2 = await drive(
    world,
    createNode({ id: 'solo', peers: ['solo'], env: env2, dataDir: 'data/solo', config: FAST }),
  );
  const restartedTerm = n2.status().term; // before any new election
  expect({ listed, restartedTerm }).toEqual({ listed: ['data'], restartedTerm: term });
  await drive(world, n2.close());
});

it('createDurableDirSync creates missing ancestors and accepts an existing directory', () => {
  const root = mkdtempSync(join(tmpdir(), 'durable-dir-'));
  try {
    const dir = join(root, 'a', 'b', 'c');
    createDurableDirSync(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    createDurableDirSync(dir);
    createDurableDirSync(root);
    expect(readdirSync(root)).toEqual(['a']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
