import { describe, expect, it } from 'vitest';
import { encodeRaftMessage, type LogEntry, type RaftMessage } from '../../generated/index.js';
import type { Env } from '../../runtime/env/types.js';
import { createNode } from '../../runtime/node/node.js';
import { SimpleLogStore } from '../../runtime/node/simple-log-store.js';
import { createWorld } from '../../sim/world.js';
import { settleMicrotasks } from '../helpers/manual-env.js';

/**
 * Node driver, timers: a follower pushes its election deadline at every append. The driver keeps
 * a timer that is due earlier (the core acts only on deadlines that passed, and the driver
 * re-arms after the tick) instead of moving it each time: a clearTimeout + setTimeout per entry
 * was measurable on the commit path.
 */
describe('node driver: the follower election timer', () => {
  it('is armed a handful of times over 200 appends, and an early firing starts no election', async () => {
    let now = 1000;
    const armed: { at: number; fn: () => void }[] = [];
    let handler = null as ((from: string, frame: Uint8Array) => void) | null;
    const world = createWorld({ seed: 1 });
    const env: Env = {
      clock: {
        now: () => now,
        setTimer: (ms, fn) => {
          const t = { at: now + ms, fn };
          armed.push(t);
          return t;
        },
        clearTimer: (h) => {
          const i = armed.indexOf(h as (typeof armed)[number]);
          if (i >= 0) armed.splice(i, 1);
        },
      },
      random: () => 0.5,
      network: {
        send: () => undefined,
        onReceive: (h) => {
          handler = h;
        },
      },
      fs: world.createEnv('a').fs,
    };
    const store = new SimpleLogStore(env.fs);
    const node = await createNode({
      id: 'a',
      peers: ['a', 'b', 'c'],
      env,
      logStore: store,
      stateMachine: { apply: () => null, snapshot: () => new Uint8Array(), restore: () => undefined },
    });
    let setTimerCalls = 0;
    const rawSet = env.clock.setTimer;
    env.clock.setTimer = (ms, fn) => {
      setTimerCalls++;
      return rawSet(ms, fn);
    };
    const append = (index: number): RaftMessage => ({
      type: 'AppendRequest',
      term: 1,
      leaderId: 'b',
      prevLogIndex: index - 1,
      prevLogTerm: index === 1 ? 0 : 1,
      entries: [
        {
          index,
          term: 1,
          entryType: 'command',
          command: new Uint8Array([index & 255]),
          timestamp: 0,
        } as LogEntry,
      ],
      leaderCommit: index - 1,
      readSeq: index,
    });
    for (let i = 1; i <= 200; i++) {
      now += 5; // an append every 5 ms: the election deadline moves every time
      handler?.('b', encodeRaftMessage(append(i)));
      await settleMicrotasks();
    }
    expect(node.status().role).toBe('follower');
    expect(setTimerCalls).toBeLessThanOrEqual(3);
    // Fire whatever timer is pending at its time: it is earlier than the real deadline (the
    // leader was heard 0 ms ago), so the member stays a follower and arms for the real one.
    const pending = armed.at(-1);
    expect(pending).toBeDefined();
    now = Math.max(now, pending?.at ?? now);
    handler?.('b', encodeRaftMessage(append(201)));
    await settleMicrotasks();
    pending?.fn();
    await settleMicrotasks();
    expect(node.status().role).toBe('follower');
    expect(node.status().term).toBe(1);
    expect(armed.length).toBeGreaterThan(0);
    await node.stop();
  });
});
