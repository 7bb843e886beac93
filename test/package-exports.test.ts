/**
 * The package's public entry points (CONTRACT.md) resolve by name from the built package and
 * export what users and outside tests rely on. `npm test` builds before running the suite.
 */
import { expect, it } from 'vitest';

it.each([
  ['vibee-consensus', ['createNode', 'connect', 'FenceGuard', 'IndeterminateError', 'CoordinationError']],
  [
    'vibee-consensus/generated',
    ['encodeRaftMessage', 'decodeRaftMessage', 'createNodeRoleMachine', 'SPEC_TESTS'],
  ],
  ['vibee-consensus/generator', ['generate', 'parseVibee', 'formatDiagnostic']],
  ['vibee-consensus/sim', ['createWorld', 'SimDisk', 'Prng']],
  ['vibee-consensus/check', ['checkLinearizability', 'kvModel', 'fencedLockModel']],
])('%s exports %j', async (entry, names) => {
  const m = (await import(/* @vite-ignore */ entry)) as Record<string, unknown>;
  for (const name of names) expect(typeof m[name], `${entry}.${name}`).toMatch(/function|object/);
});
