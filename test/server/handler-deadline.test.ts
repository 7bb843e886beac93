/**
 * The request handler bounds a proposal by the request's deadline: an ex-leader that can no longer
 * commit answers `timeout` (the client's IndeterminateError) at the deadline instead of never.
 */
import { describe, expect, it } from 'vitest';
import { encodeConfChange } from '../../generated/index.js';
import type { RaftNode } from '../../runtime/node/node.js';
import { fakeLeader, within } from './fake-leader.js';

describe('request handler deadlines', () => {
  it('a command whose proposal never settles is answered timeout at the request deadline', async () => {
    const w = fakeLeader();
    w.setHook(() => new Promise(() => undefined));
    const r = await within(
      w.send('c', w.seq(1), { type: 'SessionOpen', sessionId: 's', clientId: 'c', ttlMs: 60_000 }, 100),
      1000,
    );
    expect(r.v?.status).toBe('timeout');
    expect(r.v?.errorCode).toBe('propose_deadline');
  });

  it('a membership change that never settles is answered timeout at the request deadline', async () => {
    const w = fakeLeader();
    (w.node as unknown as { changeMembership: RaftNode['changeMembership'] }).changeMembership = () =>
      new Promise(() => undefined);
    const r = await within(
      w.request(
        'conf_change',
        encodeConfChange({ changeType: 'add_learner', nodeId: 'n9', address: 'h:9' }),
        100,
      ),
      1000,
    );
    expect(r.v?.status).toBe('timeout');
  });

  it('a request that completed leaves no timer keeping the process alive', async () => {
    const f = fakeLeader();
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    try {
      const before = timers();
      const put = {
        type: 'KvPut',
        key: 'k',
        value: new Uint8Array([1]),
        context: { entries: [] },
        actor: 'a',
      };
      const r = await f.send('c', 1, put as never, 86_400_000);
      expect(r.status).toBe('ok');
      expect(timers()).toBe(before);
    } finally {
      f.handler.close();
    }
  });
});
