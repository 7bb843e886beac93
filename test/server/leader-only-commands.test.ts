/**
 * The leader's own commands (TimeAdvance, SessionExpire, KvCompact) and the internal envelope (client
 * id '') are refused from clients: a client's TimeAdvance would expire every session and lock.
 */
import { describe, expect, it } from 'vitest';
import { encodeConfChange } from '../../generated/index.js';
import type { CommandMessage } from '../../runtime/coordination/index.js';
import { resolveEndpoint } from '../../runtime/server/handler.js';
import { fakeLeader, within } from './fake-leader.js';

describe('commands only the leader commits', () => {
  const internal: CommandMessage[] = [
    { type: 'TimeAdvance', elapsedMs: 3_600_000 },
    { type: 'SessionExpire', sessionId: 's' },
    { type: 'KvCompact', appliedFloor: 1_000_000 },
  ];
  for (const cmd of internal) {
    it(`${cmd.type} from a client is refused and changes nothing`, async () => {
      const w = fakeLeader();
      expect(
        (await w.send('c', w.seq(1), { type: 'SessionOpen', sessionId: 's', clientId: 'c', ttlMs: 60_000 }))
          .status,
      ).toBe('ok');
      const before = w.dedup.snapshot();
      const indexBefore = w.index;
      const r = await w.send('c', w.seq(2), cmd);
      expect(r.status).toBe('error');
      expect(r.errorCode).toBe('INVALID_ARGUMENT');
      expect(w.index).toBe(indexBefore); // nothing proposed
      expect(Buffer.from(w.dedup.snapshot()).equals(Buffer.from(before))).toBe(true);
    });
  }

  it('a request under the internal client id is refused', async () => {
    const w = fakeLeader();
    const r = await w.send('', 0, { type: 'SessionOpen', sessionId: 's', clientId: '', ttlMs: 60_000 });
    expect(r.status).toBe('error');
    expect(r.message).toMatch(/client id must not be empty/);
  });
});

describe('transfer_leader to the member that already leads', () => {
  it('answers ok at once (it waited out the deadline and answered outcome unknown)', async () => {
    const w = fakeLeader();
    let transfers = 0;
    (w.node as { transferLeadership(t: string): void }).transferLeadership = () => {
      transfers++;
    };
    const r = await within(w.request('transfer_leader', new TextEncoder().encode('n1'), 5000), 1000);
    expect({ status: r.v?.status, leaderId: r.v?.leaderId, transfers }).toEqual({
      status: 'ok',
      leaderId: 'n1',
      transfers: 0,
    });
  });
});

describe('adding a member at another member’s address', () => {
  it('is refused naming that member (the other member would refuse every connection meant for it)', async () => {
    // With the server's resolver: 'localhost:7002' is 127.0.0.1:7002 too (a review added a member
    // at another's address spelled differently, and it never caught up).
    const w = fakeLeader({ resolveAddress: resolveEndpoint });
    const status = w.node.status();
    (w.node as unknown as { status(): unknown }).status = () => ({
      ...status,
      config: {
        ...status.config,
        voters: ['n1', 'n2'],
        addresses: [{ id: 'n2', address: '127.0.0.1:7002' }],
      },
    });
    let proposed = 0;
    (w.node as unknown as { changeMembership(): unknown }).changeMembership = async () => {
      proposed++;
      return { index: 1, term: 1, result: null };
    };
    const send = (address: string) =>
      w.request('conf_change', encodeConfChange({ changeType: 'add_learner', nodeId: 'e', address }), 1000);
    const taken = await send('127.0.0.1:7002');
    expect({ status: taken.status, code: taken.errorCode, proposed }).toEqual({
      status: 'rejected',
      code: 'conf_change_invalid',
      proposed: 0,
    });
    expect(taken.message).toContain('member n2');
    const spelled = await send('localhost:7002');
    expect({ status: spelled.status, code: spelled.errorCode, proposed }).toEqual({
      status: 'rejected',
      code: 'conf_change_invalid',
      proposed: 0,
    });
    expect((await send('127.0.0.1:7005')).status).toBe('ok');
    expect(proposed).toBe(1);
  });
});
