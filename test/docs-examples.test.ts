/**
 * The runnable examples of docs/api.md run as written (from the built package, as a user imports
 * it) and print what the docs say they print. Each ```ts block of the simulator sections is
 * written next to this file and imported.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const api = readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8');

/** The first ```ts block after `marker` in docs/api.md. */
function exampleAfter(marker: string): string {
  const at = api.indexOf(marker);
  if (at < 0) throw new Error(`docs/api.md lost its marker: ${marker}`);
  const m = /```ts\n([\s\S]*?)```/.exec(api.slice(at));
  if (!m) throw new Error(`no ts block after ${marker}`);
  return m[1] as string;
}

/** Runs `code` as a module and returns what it printed with console.log. */
async function run(name: string, code: string): Promise<string[]> {
  const file = path.join(import.meta.dirname, `.docs-example-${name}.ts`);
  writeFileSync(file, code);
  const printed: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.map(String).join(' '));
  });
  try {
    await import(/* @vite-ignore */ `${file}?t=${Date.now()}`);
  } finally {
    spy.mockRestore();
    rmSync(file, { force: true });
  }
  return printed;
}

afterEach(() => vi.restoreAllMocks());

it('the replicated counter in the simulator is linearizable and prints its trace hash', async () => {
  const printed = await run('counter', exampleAfter('The program below defines a replicated counter'));
  expect(printed).toHaveLength(1);
  expect(printed[0]).toMatch(/^true\s+trace [0-9a-f]+$/);
}, 60_000);

it('the coordination client in the simulator hands the lock on with a larger fence token', async () => {
  const printed = await run('sim-client', exampleAfter('The coordination client works in the simulator too'));
  expect(printed).toEqual(['true true']);
}, 60_000);
