import { describe, expect, it } from 'vitest';
import { decodeCommandMessage, SESSION_CHECK_INTERVAL_MS } from '../../generated/index.js';
import type { Clock } from '../../runtime/env/types.js';
import type { NodeStatus, RaftNode } from '../../runtime/node/node.js';
import { decodeEnvelope } from '../../runtime/server/envelope.js';
import { startLeaderDuties } from '../../runtime/server/leader-duties.js';

/** A manual clock whose timers fire when `advance` passes them. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  return {
    now: () => now,
    setTimer(ms, fn) {
      const id = ++ids;
      timers.push({ at: now + ms, fn, id });
      return id as never;
    },
    clearTimer(h) {
      timers = timers.filter((t) => t.id !== (h as unknown as number));
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = end;
    },
  };
}

/** A node stub: a settable role and term, and the TimeAdvance millis it was asked to commit. */
function stubNode() {
  const state = { role: 'leader' as NodeStatus['role'], term: 1, advanced: [] as number[] };
  const node = {
    status: () =>
      ({ role: state.role, term: state.term, commitIndex: 0, progress: [] }) as unknown as NodeStatus,
    propose: async (bytes: Uint8Array) => {
      const env = decodeEnvelope(bytes);
      const cmd = env ? decodeCommandMessage(env.command) : null;
      if (cmd?.type === 'TimeAdvance') state.advanced.push(cmd.elapsedMs);
      return { index: 1, result: null };
    },
  } as unknown as RaftNode;
  return { node, state };
}

/** Runs `n` duty ticks, letting each tick's proposal settle before the next. */
async function ticks(clock: ReturnType<typeof manualClock>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    clock.advance(SESSION_CHECK_INTERVAL_MS);
    await new Promise((r) => setImmediate(r));
  }
}

describe('leader duties: committed time never runs faster than real time', () => {
  it('a leader commits the time elapsed between its ticks, counted from its first tick', async () => {
    const clock = manualClock();
    const { node, state } = stubNode();
    const duties = startLeaderDuties(node, clock);
    await ticks(clock, 3);
    duties.stop();
    expect(state.advanced).toEqual([
      SESSION_CHECK_INTERVAL_MS,
      SESSION_CHECK_INTERVAL_MS,
      SESSION_CHECK_INTERVAL_MS,
    ]);
  });

  it('leadership lost and won back between two ticks starts counting afresh in the new term', async () => {
    const clock = manualClock();
    const { node, state } = stubNode();
    const duties = startLeaderDuties(node, clock);
    await ticks(clock, 1);
    expect(state.advanced).toEqual([SESSION_CHECK_INTERVAL_MS]);
    // Between this tick and the next, another member led (and committed time) in term 2, and
    // this member won term 3. The ticks only ever see it as leader.
    state.term = 3;
    await ticks(clock, 1);
    expect(state.advanced).toEqual([SESSION_CHECK_INTERVAL_MS]);
    await ticks(clock, 1);
    duties.stop();
    expect(state.advanced).toEqual([SESSION_CHECK_INTERVAL_MS, SESSION_CHECK_INTERVAL_MS]);
    const committed = state.advanced.reduce((a, b) => a + b, 0);
    expect(committed).toBeLessThanOrEqual(clock.now());
  });
});
