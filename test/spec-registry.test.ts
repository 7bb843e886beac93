/**
 * The spec's own test list (generated `SPEC_TESTS`) is a contract: every test the spec names must
 * have a real scenario in this suite, a vitest test whose title starts with the spec test's name.
 * A spec test without one fails here, naming it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingScenarios, SPEC_TESTS } from '../generated/index.js';

const root = join(import.meta.dirname, '..');

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

/** Spec test name -> files with a vitest test (or describe block) titled after it. */
function scenarioIndex(): Map<string, string[]> {
  const index = new Map<string, string[]>();
  // A title starts with one spec test name, or a comma-separated list of them, e.g.
  // it('election_latency, lock_overhead: ...').
  const title =
    /\b(?:it|test|describe)(?:\.(?:each|skipIf|runIf)\([^)]*\))?\(\s*['"`]([a-z][a-z0-9_]*(?:, [a-z][a-z0-9_]*)*)\b/g;
  for (const file of testFiles(join(root, 'test'))) {
    if (file.endsWith('spec-registry.test.ts')) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(title)) {
      for (const name of m[1]!.split(', ')) {
        const list = index.get(name) ?? [];
        list.push(relative(root, file));
        index.set(name, list);
      }
    }
  }
  return index;
}

describe('spec test registry', () => {
  it('every test the spec names has a scenario in the suite', () => {
    const index = scenarioIndex();
    const covered = SPEC_TESTS.map((t) => t.name).filter((n) => index.has(n));
    expect(missingScenarios(covered)).toEqual([]);
  });

  it('reports a spec test that has no scenario (the check can fail)', () => {
    const names = SPEC_TESTS.map((t) => t.name);
    expect(missingScenarios(names.slice(1))).toEqual([names[0]]);
  });
});
