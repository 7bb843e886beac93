import { describe, expect, it } from 'vitest';
import {
  type CommandResult,
  CoordinationClientCore,
  CoordinationStateMachine,
  WaiterRegistry,
} from '../../runtime/coordination/index.js';
import { Rig } from './helpers.js';

const tick = () => new Promise((r) => setTimeout(r, 0));
const clock = { now: () => 0, setTimer: () => 0, clearTimer: () => {} };

/** A BarrierLeave ends the leaving session's own pending arrive: it neither hangs nor blocks a re-arrival. */
describe('BarrierLeave ends the leaver’s pending arrive', () => {
  it('the state machine tells the leaver, before any release the leave causes', () => {
    const r = new Rig();
    for (const s of ['p1', 'p2', 'p3']) r.open(s);
    r.arrive('p1', 'B', 3);
    r.arrive('p2', 'B', 3);
    r.arrive('p3', 'B', 4);
    r.ok({ type: 'BarrierLeave', sessionId: 'p3', name: 'B' }); // 3 needed, 2 arrived
    expect(r.events.map((e) => e.kind)).toEqual(['barrier_wait_cancelled']);
    expect(r.events[0]).toMatchObject({ sessionId: 'p3', reason: 'left', arrived: ['p1', 'p2'] });
    r.arrive('p3', 'C', 2);
    r.arrive('p1', 'C', 3);
    r.events.length = 0;
    r.ok({ type: 'BarrierLeave', sessionId: 'p1', name: 'C' }); // 2 needed, only p3 arrived
    expect(r.events.map((e) => e.kind)).toEqual(['barrier_wait_cancelled']);
    r.arrive('p2', 'C', 2);
    expect(r.events.at(-1)).toMatchObject({
      kind: 'barrier_released',
      outcome: 'satisfied',
      arrived: ['p3', 'p2'],
    });
  });

  it('a session-lost cancellation still rejects the wait with SESSION_LOST', async () => {
    const sm = new CoordinationStateMachine();
    const registry = new WaiterRegistry();
    sm.onEvent((e) => registry.feed(e));
    let i = 0;
    const a = new CoordinationClientCore({
      sessionId: 'a',
      registry,
      clock,
      propose: async (c) => sm.applyCommand(c, ++i),
    });
    await a.openSession();
    const p = a.barrier('B', { participants: 2 });
    await tick();
    sm.applyCommand({ type: 'SessionExpire', sessionId: 'a' }, ++i);
    await expect(p).rejects.toMatchObject({ code: 'SESSION_LOST' });
  }, 5000); // on a hang, fail fast

  it('client core: barrier() resolves as cancelled after leaveBarrier(); the session can arrive again', async () => {
    const sm = new CoordinationStateMachine();
    const registry = new WaiterRegistry();
    sm.onEvent((e) => registry.feed(e));
    let i = 0;
    const core = (sid: string) =>
      new CoordinationClientCore({
        sessionId: sid,
        registry,
        clock,
        propose: async (c) => sm.applyCommand(c, ++i),
      });
    const a = core('a');
    const b = core('b');
    await a.openSession();
    await b.openSession();
    const first = a.barrier('B', { participants: 3 });
    await tick();
    await a.leaveBarrier('B');
    await expect(first).resolves.toMatchObject({ outcome: 'cancelled', arrived: [] });
    const again = a.barrier('B', { participants: 2 });
    await tick();
    const other = await b.barrier('B', { participants: 2 });
    expect(other.outcome).toBe('satisfied');
    await expect(again).resolves.toMatchObject({ outcome: 'satisfied', arrived: ['a', 'b'] });
  }, 5000); // on a hang, fail fast

  it('client core: the pending call ends even when the registry never sees the apply’s events', async () => {
    // As for a remote client: answers come back, events do not.
    const sm = new CoordinationStateMachine();
    let i = 0;
    const a = new CoordinationClientCore({
      sessionId: 'a',
      registry: new WaiterRegistry(),
      clock,
      propose: async (c): Promise<CommandResult> => sm.applyCommand(c, ++i),
    });
    await a.openSession();
    let settled: unknown = 'pending';
    const first = a.barrier('B', { participants: 3 }).then((v) => (settled = v.outcome));
    await tick();
    expect(settled).toBe('pending');
    await a.leaveBarrier('B');
    await first;
    expect(settled).toBe('cancelled');
    // No DUPLICATE_REQUEST: the old wait is gone.
    const again = a.barrier('B', { participants: 2 });
    let second: unknown = 'pending';
    again.then(
      (v) => (second = v.outcome),
      (e) => (second = (e as { code?: string }).code),
    );
    await tick();
    expect(second).toBe('pending');
    expect(sm.barrier('B')?.arrived).toEqual(['a']);
  }, 5000); // on a hang, fail fast
});
