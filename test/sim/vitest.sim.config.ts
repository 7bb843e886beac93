/**
 * A vitest config for the simulator tests alone (they need no generated grammar), so they can run
 * while other parts of the tree are mid-build: `npx vitest run --config test/sim/vitest.sim.config.ts`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: { include: ['test/sim/**/*.test.ts'], pool: 'forks', testTimeout: 60_000 },
});
