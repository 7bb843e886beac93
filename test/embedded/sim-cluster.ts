/**
 * The public `createNode` on simulated envs, for tests: a 3-member cluster in one seeded world
 * and `drive`, which settles a promise by running the world (virtual time only).
 */
import { createNode, type EmbeddedNode } from '../../runtime/embedded-node.js';
import type { LinkConfig } from '../../sim/index.js';
import { createWorld, type World } from '../../sim/world.js';

export const IDS = ['n1', 'n2', 'n3'];
export const FAST = { electionTimeoutMin: 150, electionTimeoutMax: 300, heartbeatInterval: 30 };

/** Settles `p` by running the world (virtual time only); fails if it does not settle in `maxMs`. */
export async function drive<T>(world: World, p: Promise<T>, maxMs = 20_000): Promise<T> {
  let settled = false;
  const done = () => {
    settled = true;
  };
  p.then(done, done);
  await world.run({ stopWhen: () => settled, until: world.now() + maxMs });
  if (!settled) throw new Error(`did not settle within ${maxMs} virtual ms`);
  return p;
}

/** Three members created in a fresh world of `seed`, run until one leads. */
export async function startSimCluster(
  seed: number,
  network: Partial<LinkConfig> = { minDelayMs: 1, maxDelayMs: 4 },
): Promise<{ world: World; nodes: EmbeddedNode[]; leader: EmbeddedNode }> {
  const world = createWorld({ seed, network });
  for (const id of IDS) world.createEnv(id);
  const nodes = await drive(
    world,
    Promise.all(IDS.map((id) => createNode({ id, peers: IDS, env: world.env(id), config: FAST }))),
  );
  await world.run({ stopWhen: () => nodes.some((n) => n.status().role === 'leader'), until: 5000 });
  const leader = nodes.find((n) => n.status().role === 'leader');
  if (!leader) throw new Error('no leader elected');
  return { world, nodes, leader };
}
