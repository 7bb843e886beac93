/**
 * Changing a constant in the spec and regenerating changes runtime behaviour without touching
 * handwritten code: the spec is copied with HEARTBEAT_INTERVAL_MS changed, generated into a temp
 * dir by the real CLI, and the generated config module is imported from there.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as committed from '../../generated/index.js';
import { main } from '../../generator/cli/vibee.js';
import { ConfigError } from '../../runtime/wire/v1.js';
import { captureIo } from './cli-io.js';

const SPEC = 'specs/consensus_coordination.vibee';
const tmp = mkdtempSync(path.join(tmpdir(), 'vibee-const-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type ConfigModule = typeof import('../../generated/config.js');
type ConstantsModule = typeof import('../../generated/constants.js');

async function generateWith(
  edit: (spec: string) => string,
  name: string,
): Promise<{ config: ConfigModule; constants: ConstantsModule }> {
  const specText = readFileSync(SPEC, 'utf8');
  const edited = edit(specText);
  expect(edited).not.toBe(specText);
  const specFile = path.join(tmp, `${name}.vibee`);
  writeFileSync(specFile, edited);
  const out = path.join(tmp, name);
  const io = captureIo();
  expect(await main(['generate', specFile, '--out', out], io), io.err).toBe(0);
  const config = (await import(pathToFileURL(path.join(out, 'config.ts')).href)) as ConfigModule;
  const constants = (await import(pathToFileURL(path.join(out, 'constants.ts')).href)) as ConstantsModule;
  return { config, constants };
}

describe('a constant change flows into runtime behaviour', () => {
  it('HEARTBEAT_INTERVAL_MS 50 -> 40 changes the default config and what the validator accepts', async () => {
    const { config, constants } = await generateWith(
      (s) => s.replace('HEARTBEAT_INTERVAL_MS: 50', 'HEARTBEAT_INTERVAL_MS: 40'),
      'hb40',
    );
    expect(constants.HEARTBEAT_INTERVAL_MS).toBe(40);
    expect(committed.HEARTBEAT_INTERVAL_MS).toBe(50);
    expect(config.DEFAULT_CONSENSUS_CONFIG.heartbeatIntervalMs).toBe(40);
    expect(committed.DEFAULT_CONSENSUS_CONFIG.heartbeatIntervalMs).toBe(50);
    // heartbeat * 2 < election_timeout_min: a 90 ms minimum is fine with 40 ms heartbeats, not with 50.
    expect(config.validateConsensusConfig({ electionTimeoutMinMs: 90 }).electionTimeoutMinMs).toBe(90);
    expect(() => committed.validateConsensusConfig({ electionTimeoutMinMs: 90 })).toThrow(
      /\(heartbeatIntervalMs \* 2\) < electionTimeoutMinMs \(heartbeatIntervalMs = 50, electionTimeoutMinMs = 90\)/,
    );
  });

  it('a constant change that violates a spec constraint is refused before anything is generated', async () => {
    const specFile = path.join(tmp, 'bad.vibee');
    writeFileSync(
      specFile,
      readFileSync(SPEC, 'utf8').replace('HEARTBEAT_INTERVAL_MS: 50', 'HEARTBEAT_INTERVAL_MS: 80'),
    );
    const io = captureIo();
    expect(await main(['generate', specFile, '--out', path.join(tmp, 'bad')], io)).toBe(1);
    expect(io.err).toMatch(
      /error\[VIB008\]: constraint 'heartbeats_fit_in_election_timeout' violated: HEARTBEAT_INTERVAL_MS \* 2 < ELECTION_TIMEOUT_MIN_MS \(HEARTBEAT_INTERVAL_MS = 80, ELECTION_TIMEOUT_MIN_MS = 150\)/,
    );
  });
});

describe('the committed config validator', () => {
  it('fills defaults, rejects unknown keys, wrong types and violated constraints naming the field', () => {
    const c = committed.validateConsensusConfig({ preVote: false });
    expect(c).toEqual({ ...committed.DEFAULT_CONSENSUS_CONFIG, preVote: false });
    expect(c.electionTimeoutMinMs).toBe(committed.ELECTION_TIMEOUT_MIN_MS);
    expect(() => committed.validateConsensusConfig({ heartbeatMs: 1 })).toThrow(
      /config\.heartbeatMs: unknown key/,
    );
    expect(() => committed.validateConsensusConfig({ heartbeatIntervalMs: '50' })).toThrow(ConfigError);
    expect(() => committed.validateConsensusConfig({ heartbeatIntervalMs: -1 })).toThrow(
      /config\.heartbeatIntervalMs: must be a non-negative integer, got -1/,
    );
    expect(() => committed.validateConsensusConfig({ electionTimeoutMinMs: 400 })).toThrow(
      /config\.electionTimeoutMinMs: constraint violated/,
    );
    expect(() => committed.validateConsensusConfig(7)).toThrow(ConfigError);
  });
});
