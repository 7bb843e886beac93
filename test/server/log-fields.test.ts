/**
 * Every log line of a member names it once: `node` is bound by the server unless the logger binds
 * it already (the CLI's pino logger has it in its base; binding it again printed the key twice).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, it } from 'vitest';
import { startServer } from '../../runtime/server/server.js';
import { until } from '../helpers/until.js';
import { FAST, freePorts } from './helpers.js';

async function linesOfASoloRun(base: Record<string, string> | undefined): Promise<string[]> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const root = mkdtempSync(join(tmpdir(), 'vibee-log-'));
  const [port] = await freePorts(1);
  try {
    const s = await startServer({
      id: 'solo',
      listen: { host: '127.0.0.1', port: port as number },
      peers: new Map([['solo', { host: '127.0.0.1', port: port as number }]]),
      dataDir: root,
      config: FAST,
      logger: pino({ level: 'info', base: base ?? null }, sink),
    });
    await until('leader', () => s.node.status().role === 'leader');
    await s.close();
    return lines;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

it.each([
  ['a logger that binds node already (the CLI)', { node: 'solo' }],
  ['a logger without it', undefined],
])('with %s, each line names the member exactly once', async (_what, base) => {
  const lines = await linesOfASoloRun(base);
  expect(lines.some((l) => l.includes('"msg":"role change"'))).toBe(true);
  expect(lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  for (const l of lines) expect(l.match(/"node":"solo"/g)?.length ?? 0, l).toBe(1);
});

it('a logger without child loggers gets the member id on each line', async () => {
  const root = mkdtempSync(join(tmpdir(), 'vibee-log-plain-'));
  const [port] = await freePorts(1);
  const lines: object[] = [];
  const keep = (obj: object) => lines.push(obj);
  try {
    const s = await startServer({
      id: 'solo',
      listen: { host: '127.0.0.1', port: port as number },
      peers: new Map([['solo', { host: '127.0.0.1', port: port as number }]]),
      dataDir: root,
      config: FAST,
      logger: { debug: keep, info: keep, warn: keep, error: keep },
    });
    await until('leader', () => s.node.status().role === 'leader');
    await s.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  expect(lines.length).toBeGreaterThan(2);
  expect(lines.filter((l) => (l as { node?: string }).node !== 'solo')).toEqual([]);
});
