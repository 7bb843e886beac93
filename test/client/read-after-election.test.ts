/**
 * A read that reaches a leader before it has committed an entry in its term (right after an
 * election) is retried, not reported as a refusal: the leader commits its first entry within a
 * round trip (Raft §8).
 */
import { expect, it } from 'vitest';
import { createEmbeddedClient } from '../../runtime/client/client.js';
import { ProposalRejected } from '../../runtime/raft/errors.js';
import { fakeLeader } from '../server/fake-leader.js';

it('a linearizable get refused with not_committed_in_term is retried and answered', async () => {
  const w = fakeLeader();
  const client = await createEmbeddedClient(w.node, w.replica, { clientId: 'c', clock: w.clock });
  try {
    await client.put('k', 'v');
    const node = w.node as unknown as { read: () => Promise<{ index: number }> };
    const served = node.read;
    let refused = 0;
    node.read = async () => {
      if (refused++ === 0)
        throw new ProposalRejected('not_committed_in_term', 'no entry committed in this term yet', 'n1');
      return served();
    };
    const got = await client.get('k', { timeoutMs: 5_000 });
    expect(new TextDecoder().decode(got.value ?? new Uint8Array())).toBe('v');
    expect(refused).toBe(2);
  } finally {
    await client.close();
  }
});
