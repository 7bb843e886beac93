import { execFileSync } from 'node:child_process';
import { defineConfig } from 'vitest/config';

// The parser is generated from grammar/*.peggy at build time; make sure it exists before tests
// import it (cheap: peggy only, no tsc).
execFileSync(process.execPath, ['scripts/build.mjs', '--grammar-only'], { stdio: 'inherit' });

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
