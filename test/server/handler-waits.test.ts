/**
 * Server-side waits of the request handler: a retry after the deciding event, and a decision that
 * arrives in an installed snapshot (no events), are answered with the outcome, not a wait until the
 * request deadline (24 h for a lock wait with waitMs 0).
 */
import { describe, expect, it } from 'vitest';
import { type CommandMessage, decodeResultMessage } from '../../generated/index.js';
import { until } from '../helpers/until.js';
import { fakeLeader, within } from './fake-leader.js';

const lockCmd = (sessionId: string, requestId: string): CommandMessage => ({
  type: 'LockAcquire',
  sessionId,
  name: 'L',
  requestId,
  ttlMs: 60_000,
  waitMs: 0,
  tryOnly: false,
});

/** An all-of-`participants` arrival of `sessionId` at barrier `name`. */
const arriveCmd = (sessionId: string, name = 'b', participants = 2) =>
  ({ type: 'BarrierArrive', sessionId, name, participants, threshold: 1, timeoutMs: 60_000 }) as const;

/** Opens session `sN` for client `cN`, N = 1..count. */
async function openSessions(w: ReturnType<typeof fakeLeader>, count: number) {
  for (let n = 1; n <= count; n++)
    expect(
      (
        await w.send(`c${n}`, w.seq(1), {
          type: 'SessionOpen',
          sessionId: `s${n}`,
          clientId: `c${n}`,
          ttlMs: 60_000,
        })
      ).status,
    ).toBe('ok');
}

/** Resolves once the handler holds `n` requests open (their commands applied, their waits registered). */
const waiting = (w: ReturnType<typeof fakeLeader>, n: number) =>
  until(`${n} waiting request(s)`, () => w.handler.status().waitingRequests === n);

const twoSessions = (w: ReturnType<typeof fakeLeader>) => openSessions(w, 2);

describe('handler waits: retries after the deciding event', () => {
  it('a retried BarrierArrive whose barrier was released before the retry is answered with the release', async () => {
    const w = fakeLeader();
    await twoSessions(w);
    const arrive = arriveCmd('s1');
    // Attempt 1 of c1's arrive committed ('waiting'); its reply was lost.
    expect(w.applyDirect('c1', w.seq(2), arrive).outcome).toBe('waiting');
    const y = await w.send('c2', w.seq(2), { ...arrive, sessionId: 's2' }, 5_000);
    expect(decodeResultMessage(y.payload).outcome).toBe('satisfied');
    // c1's channel retries the same (client, sequence).
    const t0 = Date.now();
    const x = await w.send('c1', w.seq(2), arrive, 400);
    expect({ status: x.status, fast: Date.now() - t0 < 300 }).toEqual({ status: 'ok', fast: true });
    const r = decodeResultMessage(x.payload);
    expect(r.outcome).toBe('satisfied');
    expect(r.arrived).toEqual(['s1', 's2']);
  });

  it('the release is remembered even after a newer generation of the barrier replaced the record', async () => {
    const w = fakeLeader();
    await twoSessions(w);
    const arrive = arriveCmd('s1');
    const first = w.applyDirect('c1', w.seq(2), arrive);
    expect(first.outcome).toBe('waiting');
    w.applyDirect('c2', w.seq(2), { ...arrive, sessionId: 's2' }); // satisfied
    w.applyDirect('c2', w.seq(3), { ...arrive, sessionId: 's2' }); // a new generation, waiting
    expect(w.replica.machine.barrier('b')?.generation).not.toBe(first.epoch);
    const x = await w.send('c1', w.seq(2), arrive, 400);
    expect(x.status).toBe('ok');
    expect(decodeResultMessage(x.payload)).toMatchObject({ outcome: 'satisfied', epoch: first.epoch });
  });

  it('a retried LockAcquire whose grant (and release) happened before the retry gets the grant', async () => {
    const w = fakeLeader();
    await twoSessions(w);
    const a = w.applyDirect('c1', w.seq(2), lockCmd('s1', 'r1'));
    expect(a.outcome).toBe('acquired');
    expect(w.applyDirect('c2', w.seq(2), lockCmd('s2', 'r2')).outcome).toBe('queued'); // reply lost
    w.applyDirect('c1', w.seq(3), {
      type: 'LockRelease',
      sessionId: 's1',
      name: 'L',
      fenceToken: a.fenceToken,
    });
    const granted = w.replica.machine.lock('L')?.fenceToken;
    w.applyDirect('c2', w.seq(3), {
      type: 'LockRelease',
      sessionId: 's2',
      name: 'L',
      fenceToken: granted ?? 0n,
    });
    const r = await within(w.send('c2', w.seq(2), lockCmd('s2', 'r2'), 60_000), 500);
    expect(r.v?.status).toBe('ok');
    expect(decodeResultMessage(r.v?.payload ?? new Uint8Array())).toMatchObject({
      outcome: 'acquired',
      fenceToken: granted,
    });
  });
});

describe('handler waits: decisions that arrive in an installed snapshot', () => {
  it('a lock wait whose grant arrives inside an installed snapshot is answered', async () => {
    const w = fakeLeader();
    await twoSessions(w);
    const a = decodeResultMessage((await w.send('c1', w.seq(2), lockCmd('s1', 'r1'))).payload);
    expect(a.outcome).toBe('acquired');
    const pending = w.send('c2', w.seq(2), lockCmd('s2', 'r2'), 60_000);
    await waiting(w, 1);
    // The new leader commits c1's release (granting s2) and sends this member a snapshot.
    w.installSnapshotWith([
      {
        clientId: 'c1',
        sequence: w.seq(3),
        cmd: { type: 'LockRelease', sessionId: 's1', name: 'L', fenceToken: a.fenceToken },
      },
    ]);
    expect(w.replica.machine.lock('L')?.owner).toBe('s2');
    const r = await within(pending, 500);
    expect(r.v?.status).toBe('ok');
    expect(w.handler.status().waitingRequests).toBe(0);
    expect(decodeResultMessage(r.v?.payload ?? new Uint8Array())).toMatchObject({
      outcome: 'acquired',
      fenceToken: w.replica.machine.lock('L')?.fenceToken,
    });
  });

  it('a barrier wait released inside an installed snapshot is answered (the record is kept: a cascade stage)', async () => {
    const w = fakeLeader();
    await twoSessions(w);
    const arrive = arriveCmd('s1', 'b#1');
    const pending = w.send('c1', w.seq(2), arrive, 60_000);
    await waiting(w, 1);
    w.installSnapshotWith([{ clientId: 'c2', sequence: w.seq(2), cmd: { ...arrive, sessionId: 's2' } }]);
    const r = await within(pending, 500);
    expect(r.v?.status).toBe('ok');
    expect(decodeResultMessage(r.v?.payload ?? new Uint8Array())).toMatchObject({
      outcome: 'satisfied',
      arrived: ['s1', 's2'],
    });
  });

  it('a barrier wait released inside an installed snapshot is answered at once, even if the record is gone', async () => {
    const w = fakeLeader();
    await twoSessions(w);
    const arrive = arriveCmd('s1');
    const pending = w.send('c1', w.seq(2), arrive, 60_000);
    await waiting(w, 1);
    w.installSnapshotWith([{ clientId: 'c2', sequence: w.seq(2), cmd: { ...arrive, sessionId: 's2' } }]);
    const r = await within(pending, 500);
    expect(r.pending).toBeUndefined();
    // The machine may drop a finished generation: then the outcome is unknown here (indeterminate).
    const res = r.v as NonNullable<typeof r.v>;
    if (res.status === 'ok') expect(decodeResultMessage(res.payload).outcome).toBe('satisfied');
    else
      expect({ status: res.status, code: res.errorCode }).toEqual({
        status: 'timeout',
        code: 'outcome_unknown',
      });
  });

  it('a campaign elected inside an installed snapshot is answered', async () => {
    const w = fakeLeader();
    await twoSessions(w);
    const v = new Uint8Array([1]);
    expect(
      decodeResultMessage(
        (await w.send('c1', w.seq(2), { type: 'ElectionCampaign', sessionId: 's1', name: 'e', value: v }))
          .payload,
      ).outcome,
    ).toBe('elected');
    const pending = w.send(
      'c2',
      w.seq(2),
      { type: 'ElectionCampaign', sessionId: 's2', name: 'e', value: v },
      60_000,
    );
    await waiting(w, 1);
    const epoch = w.replica.machine.election('e')?.epoch ?? 0n;
    w.installSnapshotWith([
      {
        clientId: 'c1',
        sequence: w.seq(3),
        cmd: { type: 'ElectionResign', sessionId: 's1', name: 'e', epoch },
      },
    ]);
    expect(w.replica.machine.election('e')?.leader).toBe('s2');
    const r = await within(pending, 500);
    expect(r.v?.status).toBe('ok');
    expect(decodeResultMessage(r.v?.payload ?? new Uint8Array()).outcome).toBe('elected');
  });

  it('a wait the snapshot decided in a way the state no longer shows ends indeterminate, not at the deadline', async () => {
    const w = fakeLeader();
    await twoSessions(w);
    const a = decodeResultMessage((await w.send('c1', w.seq(2), lockCmd('s1', 'r1'))).payload);
    const pending = w.send('c2', w.seq(2), lockCmd('s2', 'r2'), 60_000);
    await waiting(w, 1);
    // Granted to s2 and released again, all inside the snapshot: nothing here says how it went.
    w.installSnapshotWith([
      {
        clientId: 'c1',
        sequence: w.seq(3),
        cmd: { type: 'LockRelease', sessionId: 's1', name: 'L', fenceToken: a.fenceToken },
      },
      { clientId: 'c2', sequence: w.seq(3), cmd: { type: 'SessionClose', sessionId: 's2' } },
    ]);
    const r = await within(pending, 500);
    expect(r.v?.status).toBe('timeout'); // the client's IndeterminateError
    expect(r.v?.errorCode).toBe('outcome_unknown');
  });

  it('a wait still queued after the snapshot keeps waiting', async () => {
    const w = fakeLeader();
    await twoSessions(w);
    await w.send('c1', w.seq(2), lockCmd('s1', 'r1'));
    const pending = w.send('c2', w.seq(2), lockCmd('s2', 'r2'), 60_000);
    await waiting(w, 1);
    w.installSnapshotWith([
      { clientId: 'c1', sequence: w.seq(3), cmd: { type: 'SessionKeepAlive', sessionId: 's1' } },
    ]);
    expect((await within(pending, 100)).pending).toBe(true);
    w.handler.close();
    expect((await pending).status).toBe('indeterminate');
  });
});

describe('barrier arrivals after a leave', () => {
  it('a session that left and arrives again in the same generation waits again (found by review)', async () => {
    const w = fakeLeader();
    await openSessions(w, 3);
    const arrive = (session: string) => arriveCmd(session, 'b', 3);
    expect(w.applyDirect('c2', w.seq(2), arrive('s2')).outcome).toBe('waiting');
    const first = w.send('c1', w.seq(2), arrive('s1'), 5_000);
    await waiting(w, 1);
    expect((await w.send('c1', w.seq(3), { type: 'BarrierLeave', sessionId: 's1', name: 'b' })).status).toBe(
      'ok',
    );
    expect(decodeResultMessage((await first).payload).outcome).toBe('cancelled');
    // s1 arrives again: same generation (s2 still waits there), so it is really waiting now.
    const again = w.send('c1', w.seq(4), arrive('s1'), 2_000);
    const r = await within(again, 300);
    // Never 'cancelled' for an arrival that is live on the machine: before, the leave's outcome,
    // remembered for that generation, answered the new arrival at once.
    const st = w.replica.machine.barrier('b');
    const got = r.v ? decodeResultMessage(r.v.payload).outcome : 'pending';
    expect(st?.state).toBe('waiting');
    expect(st?.arrived).toContain('s1');
    expect(got).not.toBe('cancelled');
  });
});
