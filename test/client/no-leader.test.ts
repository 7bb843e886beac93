/**
 * A call that ends because the members answer but none leads (no quorum) says so: an
 * UnreachableError with reason `no_leader` (the CLI prints "cluster unavailable: no leader ..."),
 * not "no endpoint reachable" as if nothing had answered.
 */
import { expect, it } from 'vitest';
import { createEmbeddedClient } from '../../runtime/client/client.js';
import { UnreachableError } from '../../runtime/client/errors.js';
import { fakeLeader } from '../server/fake-leader.js';

it('a put against a member that neither leads nor knows a leader ends as no_leader at its deadline', async () => {
  const w = fakeLeader();
  const client = await createEmbeddedClient(w.node, w.replica, { clientId: 'c', clock: w.clock });
  const member = w.node as unknown as { role: string; leaderId: string | null };
  member.role = 'follower';
  member.leaderId = null;
  const e = await client.put('k', 'v', { timeoutMs: 200 }).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(UnreachableError);
  expect((e as UnreachableError).reason).toBe('no_leader');
  expect((e as Error).message).toMatch(/no leader: the members answer but none leads/);
  await client.close();
});
