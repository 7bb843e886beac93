/**
 * A client pointed at something that will never serve it fails at once with a message that says
 * what is wrong, instead of retrying until its deadline: a member's HTTP port (it printed "frame
 * length 1213486160 exceeds maximum", the bytes of "HTTP"), or members of another cluster (the
 * refusal now names the member's cluster).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../runtime/client/client.js';
import { UnreachableError } from '../../runtime/client/errors.js';
import type { Server } from '../../runtime/server/server.js';
import { type SoloServer, startSoloServer } from '../server/helpers.js';

describe('endpoints that can never serve the client', () => {
  let solo: SoloServer;
  let s: Server;
  let port: number;
  beforeAll(async () => {
    solo = await startSoloServer({ clusterId: 'prod', http: { host: '127.0.0.1', port: 0 } });
    s = solo.server;
    port = solo.port;
  });
  afterAll(() => solo?.close());

  /** The error of `connect`, and whether it came well before the call's 30 s deadline. */
  async function refusal(endpoints: string[], clusterId?: string) {
    const t0 = performance.now();
    const e = await connect({ endpoints, clusterId, timeoutMs: 30_000 }).then(
      async (c) => {
        await c.close();
        return null;
      },
      (x: unknown) => x,
    );
    return { e, early: performance.now() - t0 < 10_000 };
  }

  it('the HTTP port', async () => {
    const { e, early } = await refusal([`127.0.0.1:${s.httpPort}`]);
    expect(e).toBeInstanceOf(UnreachableError);
    expect((e as Error).message).toMatch(/answers in HTTP: is it a member's --http port\?/);
    expect(early).toBe(true);
  });

  it('another cluster: the refusal names both cluster ids', async () => {
    const { e, early } = await refusal([`127.0.0.1:${port}`], 'staging');
    expect(e).toBeInstanceOf(UnreachableError);
    expect((e as Error).message).toMatch(/expects cluster 'staging', this is 'prod'/);
    expect(early).toBe(true);
  });

  it('one right endpoint among refusing ones still serves', async () => {
    const c = await connect({
      endpoints: [`127.0.0.1:${s.httpPort}`, `127.0.0.1:${port}`],
      timeoutMs: 30_000,
    });
    try {
      await c.put('k', 'v');
    } finally {
      await c.close();
    }
  });
});
