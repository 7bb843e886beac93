/**
 * Every log line of a member names it once: `node` is bound by the server unless the logger binds
 * it already (the CLI's pino logger has it in its base; binding it again printed the key twice).
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, it } from 'vitest';
import type { ServerLogger } from '../../runtime/server/server.js';
import { startSoloServer } from './helpers.js';

/** Runs a one-member cluster with `logger` until it leads, then stops it. */
async function soloRun(logger: ServerLogger): Promise<void> {
  await (await startSoloServer({ logger })).close();
}

it.each([
  ['a logger that binds node already (the CLI)', { node: 'solo' }],
  ['a logger without it', undefined],
])('with %s, each line names the member exactly once', async (_what, base) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  await soloRun(pino({ level: 'info', base: base ?? null }, sink));
  expect(lines.some((l) => l.includes('"msg":"role change"'))).toBe(true);
  expect(lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  for (const l of lines) expect(l.match(/"node":"solo"/g)?.length ?? 0, l).toBe(1);
});

it('a logger without child loggers gets the member id on each line', async () => {
  const lines: object[] = [];
  const keep = (obj: object) => lines.push(obj);
  await soloRun({ debug: keep, info: keep, warn: keep, error: keep });
  expect(lines.length).toBeGreaterThan(2);
  expect(lines.filter((l) => (l as { node?: string }).node !== 'solo')).toEqual([]);
});
