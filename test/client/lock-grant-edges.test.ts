/**
 * Edges of handing out a lock grant, found by review: (1) a grant answered while `close()` runs
 * (the session close has already released the lock on the cluster) is not handed out live;
 * (2) a call aborted while the renewal of a slow grant is in flight ends with the abort's reason
 * once the grant is given back, not as indeterminate; (3) while keepalives go unanswered, a held
 * lock's signal aborts once the cluster may have expired the session (a session TTL after the last
 * acknowledged keepalive was SENT), not only when a keepalive finally fails at its deadline: the
 * cluster may already have granted the lock to someone else.
 */
import { expect, it } from 'vitest';
import { decodeCommandMessage } from '../../generated/index.js';
import { createEmbeddedClient } from '../../runtime/client/client.js';
import { decodeEnvelope } from '../../runtime/server/envelope.js';
import { until } from '../helpers/until.js';
import { fakeLeader } from '../server/fake-leader.js';

/** The command type and client of an enveloped proposal (null for a raw one). */
function commandOf(bytes: Uint8Array): { client: string; type: string } | null {
  const env = decodeEnvelope(bytes);
  return env ? { client: env.clientId, type: decodeCommandMessage(env.command).type } : null;
}

it('a grant answered while close() runs is not handed out', async () => {
  const w = fakeLeader();
  const a = await createEmbeddedClient(w.node, w.replica, { clientId: 'a', clock: w.clock });
  const answers: Record<string, () => void> = {};
  w.setHook((bytes) => {
    const c = commandOf(bytes);
    if (c?.client !== 'a' || !['LockAcquire', 'SessionClose'].includes(c.type) || answers[c.type])
      return null;
    const res = w.apply(bytes); // applied on the cluster; the answer is still on its way
    return new Promise((r) => {
      answers[c.type] = () => r(res);
    });
  });
  const p = a.lock('L', { ttlMs: 60_000 }).then(
    (h) => `handed out, aborted=${h.signal.aborted}`,
    (e: { code?: string }) => `rejected ${e.code}`,
  );
  await until('the acquire applied', () => answers.LockAcquire);
  const closing = a.close();
  await until('the session close applied', () => answers.SessionClose);
  expect(w.replica.machine.lock('L')?.owner ?? null).toBeNull(); // released with the session
  answers.LockAcquire?.();
  expect(await p).toBe('rejected SESSION_LOST');
  answers.SessionClose?.();
  await closing;
});

for (const how of ['signal', 'timeoutMs'] as const)
  it(`a call aborted (${how}) while a slow grant is being renewed rejects with the abort's reason`, async () => {
    const w = fakeLeader();
    const a = await createEmbeddedClient(w.node, w.replica, { clientId: 'a', clock: w.clock });
    await a.put('warm', 'up');
    let renewSent = false;
    w.setHook((bytes) => {
      const c = commandOf(bytes);
      if (c?.type === 'LockAcquire') {
        const res = w.apply(bytes);
        return new Promise((r) => setTimeout(() => r(res), 200)); // slow for a 300 ms TTL
      }
      if (c?.type === 'LockRenew') {
        renewSent = true;
        return new Promise(() => undefined); // never answered
      }
      return null;
    });
    const ac = new AbortController();
    const p = a
      .lock('L', how === 'signal' ? { ttlMs: 300, signal: ac.signal } : { ttlMs: 300, timeoutMs: 250 })
      .then(
        () => 'handed out',
        (e: { code?: string; message: string }) => e.code ?? e.message,
      );
    await until('the renewal sent', () => renewSent);
    if (how === 'signal') ac.abort(new Error('caller gave up'));
    expect(await p).toBe(how === 'signal' ? 'caller gave up' : 'LOCK_WAIT_TIMEOUT');
    expect(w.replica.machine.lock('L')?.owner ?? null).toBeNull(); // given back
    w.setHook(null);
    await a.close();
  });

it('unanswered keepalives: a held lock aborts once the session may have expired on the cluster', async () => {
  const w = fakeLeader();
  const a = await createEmbeddedClient(w.node, w.replica, {
    clientId: 'a',
    clock: w.clock,
    sessionTtlMs: 300,
    timeoutMs: 2000,
  });
  const held = await a.lock('L', { ttlMs: 60_000 });
  const lastAck = performance.now();
  w.setHook((bytes) =>
    commandOf(bytes)?.type === 'SessionKeepAlive' && commandOf(bytes)?.client === 'a'
      ? new Promise(() => undefined) // a partition: keepalives never answered
      : null,
  );
  await until('the signal aborts', () => held.signal.aborted, 3000);
  // Within about a session TTL of the last acknowledged keepalive, not at the 2 s call deadline.
  expect(performance.now() - lastAck).toBeLessThan(1000);
  expect((held.signal.reason as { code?: string }).code).toBe('LOCK_LOST');
  w.setHook(null);
  await a.close();
});

it('a campaign won while close() runs is not reported as won', async () => {
  const w = fakeLeader();
  const a = await createEmbeddedClient(w.node, w.replica, { clientId: 'a', clock: w.clock });
  const answers: Record<string, () => void> = {};
  w.setHook((bytes) => {
    const c = commandOf(bytes);
    if (c?.client !== 'a' || !['ElectionCampaign', 'SessionClose'].includes(c.type) || answers[c.type])
      return null;
    const res = w.apply(bytes);
    return new Promise((r) => {
      answers[c.type] = () => r(res);
    });
  });
  const p = a
    .election('e')
    .campaign('v')
    .then(
      () => 'won',
      (e: { code?: string }) => `rejected ${e.code}`,
    );
  await until('the campaign applied', () => answers.ElectionCampaign);
  const closing = a.close();
  await until('the session close applied', () => answers.SessionClose);
  answers.ElectionCampaign?.();
  expect(await p).toBe('rejected SESSION_LOST');
  answers.SessionClose?.();
  await closing;
});
