/**
 * An outcome the client cannot know is never reported as a definite failure: a refusal that answers
 * a retry after an attempt whose outcome never came back, and a deadline that passes after a
 * membership change or a leadership transfer was sent, are indeterminate.
 */
import { describe, expect, it } from 'vitest';
import type { ClientRequest, ClientResponse } from '../../generated/index.js';
import { createLocalChannel } from '../../runtime/client/channel.js';
import { createEmbeddedClient } from '../../runtime/client/client.js';
import { IndeterminateError, RequestRejectedError } from '../../runtime/client/errors.js';
import { createRealClock } from '../../runtime/env/real-clock.js';
import { ProposalIndeterminate } from '../../runtime/node/node.js';
import { ProposalRejected } from '../../runtime/raft/errors.js';
import type { RequestHandler } from '../../runtime/server/handler.js';
import { response } from '../../runtime/server/protocol.js';
import { fakeLeader } from '../server/fake-leader.js';

const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);
/** A refusal the client must not retry (it stands for any final one). */
const FINAL_REFUSAL = () => new ProposalRejected('no_live_quorum', 'the change would leave no live quorum');

/** What `put('k', 'v1')` through an embedded client of `w` throws (null: it succeeded). */
async function putError(w: ReturnType<typeof fakeLeader>): Promise<unknown> {
  const client = await createEmbeddedClient(w.node, w.replica, {
    clientId: 'c',
    clock: w.clock,
    timeoutMs: 2000,
  });
  try {
    return await client.put('k', 'v1').then(
      () => null,
      (e: unknown) => e,
    );
  } finally {
    await client.close();
  }
}

function handlerAnswering(answer: (req: ClientRequest, n: number) => ClientResponse): RequestHandler {
  let n = 0;
  return {
    handle: async (r) => answer(r, ++n),
    status: () => {
      throw new Error('unused');
    },
    close() {},
  };
}

const call = (kind: ClientRequest['kind']) =>
  ({
    clientId: 'c',
    sequence: kind === 'command' ? 1 : 0,
    kind,
    consistency: 'linearizable',
    payload: new Uint8Array(),
  }) as const;

describe('outcome mapping of the client', () => {
  it('a put whose first attempt applied with an unknown outcome and whose retry is refused is indeterminate', async () => {
    const w = fakeLeader();
    // Attempt 1 commits but its outcome comes back unknown (covered by a snapshot); attempt 2 is
    // refused (a final refusal): that refusal says nothing about attempt 1.
    w.setHook((bytes, n) => {
      if (n === 1) {
        w.apply(bytes);
        return Promise.reject(new ProposalIndeterminate(w.index));
      }
      if (n === 2) return Promise.reject(FINAL_REFUSAL());
      return null;
    });
    const err = await putError(w);
    expect(text(w.replica.machine.kvGet('k').value)).toBe('v1'); // it was applied
    expect(err).toBeInstanceOf(IndeterminateError);
  });

  it('a refusal of the only attempt stays a definite RequestRejectedError', async () => {
    const w = fakeLeader();
    w.setHook((_bytes, n) => (n === 1 ? Promise.reject(FINAL_REFUSAL()) : null));
    const err = await putError(w);
    expect(err).toBeInstanceOf(RequestRejectedError);
    expect((err as RequestRejectedError).code).toBe('no_live_quorum');
    expect(w.replica.machine.kvGet('k').value).toBeNull();
  });

  it.each(['transfer_in_progress', 'backpressure', 'not_committed_in_term'] as const)(
    'a put refused %s (it ends by itself) is retried and applies once',
    async (reason) => {
      const w = fakeLeader();
      // Seen in rolling restarts: every put that reached the leader during its SIGTERM handover
      // failed with transfer_in_progress, although nothing was applied and the handover ends.
      w.setHook((_bytes, n) => (n <= 2 ? Promise.reject(new ProposalRejected(reason, reason)) : null));
      expect(await putError(w)).toBeNull();
      expect(text(w.replica.machine.kvGet('k').value)).toBe('v1');
      expect(w.replica.machine.kvGet('k').context.entries.map((e) => [e.actor, Number(e.counter)])).toEqual([
        ['c', 1],
      ]);
    },
  );

  it.each(['rejected', 'error'] as const)(
    'a command answered %s after an indeterminate attempt is indeterminate (channel)',
    async (status) => {
      const clock = createRealClock();
      const ch = createLocalChannel(
        handlerAnswering((r, n) =>
          n === 1
            ? response(r.requestId, 'indeterminate')
            : response(r.requestId, status, { errorCode: 'no_target' }),
        ),
        clock,
      );
      const err = await ch.call(call('command'), { deadline: clock.now() + 2000 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(IndeterminateError);
    },
  );

  it('a read answered error after an indeterminate attempt is returned as it is (reads change nothing)', async () => {
    const clock = createRealClock();
    const ch = createLocalChannel(
      handlerAnswering((r, n) =>
        n === 1 ? response(r.requestId, 'indeterminate') : response(r.requestId, 'error', { errorCode: 'x' }),
      ),
      clock,
    );
    const res = await ch.call(call('read'), { deadline: clock.now() + 2000 });
    expect(res.status).toBe('error');
  });

  it.each(['conf_change', 'transfer_leader'] as const)(
    'a %s sent and answered indeterminate until the deadline is indeterminate, not unreachable',
    async (kind) => {
      const clock = createRealClock();
      const ch = createLocalChannel(
        handlerAnswering((r) => response(r.requestId, 'indeterminate', { errorCode: 'node_stopped' })),
        clock,
      );
      const code = await ch.call(call(kind), { deadline: clock.now() + 150 }).then(
        () => null,
        (e: { code?: string }) => e.code,
      );
      expect(code).toBe('INDETERMINATE');
    },
  );
});
