import { describe, expect, it } from 'vitest';
import type { NodeConfig } from '../../runtime/node/node.js';
import {
  bounceVoters,
  crashAfterAck,
  figure8,
  partitionedRejoin,
  type ScenarioResult,
} from '../../sim/cluster/scenarios.js';

/**
 * Calibration: each deliberately broken variant must be caught by the checker within 200 seeds of
 * its scenario, and the correct implementation must stay clean on the same scenario.
 */
type Scenario = (seed: number, config?: NodeConfig) => Promise<ScenarioResult>;

const caught = (r: ScenarioResult) => r.violations.length > 0 || r.findings.length > 0;

async function firstCaught(
  scenario: Scenario,
  config: NodeConfig,
  max = 200,
): Promise<{ seed: number; what: string } | null> {
  for (let seed = 1; seed <= max; seed++) {
    const r = await scenario(seed, config);
    if (caught(r)) return { seed, what: r.violations[0]?.invariant ?? (r.findings[0] as string) };
  }
  return null;
}

async function cleanOn(scenario: Scenario, seeds: number): Promise<void> {
  for (let seed = 1; seed <= seeds; seed++) {
    const r = await scenario(seed);
    expect(r.violations, `seed ${seed}`).toEqual([]);
    expect(r.findings, `seed ${seed}`).toEqual([]);
  }
}

describe('calibration: broken variants are caught by the checker within 200 seeds', () => {
  it('votes not persisted (unsafeForgetVote) -> election safety', async () => {
    const hit = await firstCaught(bounceVoters, { unsafeForgetVote: true });
    expect(hit).not.toBeNull();
    expect(hit?.what).toBe('election_safety');
    await cleanOn(bounceVoters, 15);
  });

  it('committing a previous-term entry by counting (unsafeCommitPreviousTerm) -> Figure 8', async () => {
    const hit = await firstCaught(figure8, { unsafeCommitPreviousTerm: true });
    expect(hit).not.toBeNull();
    expect(['leader_completeness', 'state_machine_safety', 'node_error']).toContain(hit?.what);
    await cleanOn(figure8, 25);
  });

  it('acknowledging before sync (unsafeSendBeforePersist) -> committed entry lost', async () => {
    const hit = await firstCaught(crashAfterAck, { unsafeSendBeforePersist: true });
    expect(hit).not.toBeNull();
    await cleanOn(crashAfterAck, 40);
  });

  it('pre-vote off -> a rejoining member disrupts the cluster', async () => {
    const hit = await firstCaught(partitionedRejoin, { preVote: false });
    expect(hit).not.toBeNull();
    expect(hit?.what).toMatch(/disrupted/);
    await cleanOn(partitionedRejoin, 25);
  });
});
