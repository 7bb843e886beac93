import { describe, expect, it } from 'vitest';
import {
  type CommandMessage,
  CoordinationClientCore,
  CoordinationStateMachine,
  WaiterRegistry,
} from '../../runtime/coordination/index.js';

const clock = { now: () => 0, setTimer: () => 0, clearTimer: () => {} };

/** lock() aborted while its LockAcquire is in flight gives up: nothing stays queued or held. */
describe('aborting lock() while its acquire is in flight', () => {
  const setup = (ac: AbortController) => {
    const sm = new CoordinationStateMachine();
    const registry = new WaiterRegistry();
    sm.onEvent((e) => registry.feed(e));
    let i = 0;
    const mk = (sid: string, abortDuringAcquire: boolean) =>
      new CoordinationClientCore({
        sessionId: sid,
        registry,
        clock,
        propose: async (c: CommandMessage) => {
          const r = sm.applyCommand(c, ++i);
          // The caller gives up after the acquire applied, before its answer arrives.
          if (abortDuringAcquire && c.type === 'LockAcquire') ac.abort(new Error('user gave up'));
          return r;
        },
      });
    return { sm, a: mk('a', false), b: mk('b', true) };
  };

  it('a queued request is cancelled on the server and the call rejects with the abort reason', async () => {
    const ac = new AbortController();
    const { sm, a, b } = setup(ac);
    await a.openSession();
    await b.openSession();
    const held = await a.lock('L');
    await expect(b.lock('L', { signal: ac.signal })).rejects.toThrow('user gave up');
    expect(sm.lock('L')?.queue).toEqual([]);
    // Releasing hands the lock to nobody: the record goes away.
    await held.release();
    expect(sm.lock('L')).toBeNull();
  }, 5000); // on a hang, fail fast

  it('an immediate grant is given back and the call rejects', async () => {
    const ac = new AbortController();
    const { sm, b } = setup(ac);
    await b.openSession();
    await expect(b.lock('L', { signal: ac.signal })).rejects.toThrow('user gave up');
    await new Promise((r) => setTimeout(r, 0));
    expect(sm.lock('L')).toBeNull();
  }, 5000); // on a hang, fail fast

  it('an abort before the call throws at once and proposes nothing', async () => {
    const ac = new AbortController();
    ac.abort(new Error('early'));
    const { sm, b } = setup(new AbortController());
    await b.openSession();
    await expect(b.lock('L', { signal: ac.signal })).rejects.toThrow('early');
    expect(sm.lock('L')).toBeNull();
  });
});
