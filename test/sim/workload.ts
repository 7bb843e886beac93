/**
 * A small deterministic workload for the simulator tests: every node gossips counters to random
 * peers on a timer, persists each received counter (write + sync) before acknowledging it, and
 * the harness injects network, disk and process faults chosen by the seed.
 */
import { createWorld, type SimEnv, type World, type WorldOptions } from '../../sim/index.js';

/** A toy node: timers, random, network and disk all through its env. */
export class GossipNode {
  received = 0;
  private counter = 0;
  private timer: unknown = null;

  constructor(
    readonly id: string,
    readonly env: SimEnv,
    private readonly peers: string[],
  ) {
    env.network.onReceive((from, frame) => void this.onFrame(from, frame));
    this.arm();
  }

  private arm(): void {
    const delay = 10 + Math.floor(this.env.random() * 20);
    this.timer = this.env.clock.setTimer(delay, () => {
      const others = this.peers.filter((p) => p !== this.id);
      const to = others[Math.floor(this.env.random() * others.length)] as string;
      const frame = new Uint8Array([0, ++this.counter & 0xff, this.id.charCodeAt(0)]);
      this.env.network.send(to, frame);
      frame[1] = 0xee; // mutating after send must not affect the delivered copy
      this.arm();
    });
  }

  stop(): void {
    this.env.clock.clearTimer(this.timer);
  }

  private async onFrame(from: string, frame: Uint8Array): Promise<void> {
    this.received++;
    if (frame[0] !== 0) return; // an ack
    await this.env.fs.write('log', this.received * 3, frame);
    await this.env.fs.sync('log');
    this.env.network.send(from, new Uint8Array([1, frame[1] as number]));
  }
}

/** Runs the faulty gossip scenario on `seed` and returns the world after `ms` of virtual time. */
export async function runGossip(
  seed: number | string,
  ms = 2_000,
  extra: Partial<WorldOptions> = {},
): Promise<World> {
  const world = createWorld({
    seed,
    network: { dropRate: 0.05, duplicateRate: 0.05, minDelayMs: 1, maxDelayMs: 20 },
    clockDrift: 0.001,
    disk: { syncLatency: { minMs: 0.5, maxMs: 3 } },
    ...extra,
  });
  const ids = ['a', 'b', 'c', 'd', 'e'];
  const nodes = new Map<string, GossipNode>();
  for (const id of ids) nodes.set(id, new GossipNode(id, world.createEnv(id), ids));
  const faults = world.rng.fork('faults');
  for (let t = 100; t < ms; t += 100) {
    world.schedule(t, () => {
      const victim = faults.pick(ids);
      switch (faults.int(0, 4)) {
        case 0:
          world.network.randomSplit();
          break;
        case 1:
          world.network.heal();
          break;
        case 2:
          if (world.status(victim) === 'crashed')
            nodes.set(victim, new GossipNode(victim, world.restart(victim), ids));
          else world.crash(victim);
          break;
        case 3:
          if (world.status(victim) === 'up') world.pause(victim, faults.int(1, 200));
          break;
        default:
          world.network.blockLink(victim, faults.pick(ids));
      }
    });
  }
  await world.runFor(ms);
  return world;
}
