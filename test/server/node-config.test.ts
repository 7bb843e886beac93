import { describe, expect, it } from 'vitest';
import { DEFAULT_CONSENSUS_CONFIG, validateConsensusConfig } from '../../generated/config.js';
import { nodeConfigOf } from '../../runtime/server/server.js';

/** A valid change of one field: numbers +1 (every constraint still holds), booleans flipped. */
function changed(value: unknown): unknown {
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'boolean') return !value;
  return `${String(value)}-changed`;
}

describe('consensus serve --config reaches the member', () => {
  // clusterId goes to the transport's handshake, not to the Raft node.
  const keys = Object.keys(DEFAULT_CONSENSUS_CONFIG).filter((k) => k !== 'clusterId');

  it.each(keys)('%s changes the node configuration', (key) => {
    const base = nodeConfigOf(validateConsensusConfig({}));
    const value = changed((DEFAULT_CONSENSUS_CONFIG as unknown as Record<string, unknown>)[key]);
    const tuned = nodeConfigOf(validateConsensusConfig({ [key]: value }));
    expect(tuned).not.toEqual(base);
    expect(Object.values(tuned)).toContain(value);
  });

  it('maxSyncStallMs must stay above the heartbeat interval', () => {
    expect(nodeConfigOf(validateConsensusConfig({ maxSyncStallMs: 500 })).maxSyncStallMs).toBe(500);
    expect(() => validateConsensusConfig({ maxSyncStallMs: 20, heartbeatIntervalMs: 50 })).toThrow(
      /config\.maxSyncStallMs: constraint violated: maxSyncStallMs > heartbeatIntervalMs/,
    );
  });
});
