import { describe, expect, it } from 'vitest';
import {
  decodeRaftMessage,
  encodeRaftMessage,
  type LogEntry,
  type RaftMessage,
} from '../../generated/index.js';
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
/**
 * An env whose clock the test moves (`h.now`) and whose timers it fires (`h.armed`); `h.deliver`
 * hands the node a frame as if `from` had sent it.
 */
function manualClock(seed: number) {
  const h = {
    now: 1000,
    armed: [] as { at: number; fn: () => void }[],
    handler: null as ((from: string, frame: Uint8Array) => void) | null,
    deliver: (from: string, m: RaftMessage) => h.handler?.(from, encodeRaftMessage(m)),
    sent: [] as { to: string; message: RaftMessage }[],
    env: undefined as unknown as Env,
  };
  h.env = {
    clock: {
      now: () => h.now,
      setTimer: (ms, fn) => {
        const t = { at: h.now + ms, fn };
        h.armed.push(t);
        return t;
      },
      clearTimer: (t) => {
        const i = h.armed.indexOf(t as (typeof h.armed)[number]);
        if (i >= 0) h.armed.splice(i, 1);
      },
    },
    random: () => 0.5,
    network: {
      send: (to, frame) => {
        h.sent.push({ to, message: decodeRaftMessage(frame) });
      },
      onReceive: (fn) => {
        h.handler = fn;
      },
    },
    fs: createWorld({ seed }).createEnv('a').fs,
  };
  return h;
}

describe('node driver: the follower election timer', () => {
  it('is armed a handful of times over 200 appends, and an early firing starts no election', async () => {
    const h = manualClock(1);
    const { env, armed } = h;
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
      h.now += 5; // an append every 5 ms: the election deadline moves every time
      h.deliver('b', append(i));
      await settleMicrotasks();
    }
    expect(node.status().role).toBe('follower');
    expect(setTimerCalls).toBeLessThanOrEqual(3);
    // Fire whatever timer is pending at its time: it is earlier than the real deadline (the
    // leader was heard 0 ms ago), so the member stays a follower and arms for the real one.
    const pending = armed.at(-1);
    expect(pending).toBeDefined();
    h.now = Math.max(h.now, pending?.at ?? h.now);
    h.deliver('b', append(201));
    await settleMicrotasks();
    pending?.fn();
    await settleMicrotasks();
    expect(node.status().role).toBe('follower');
    expect(node.status().term).toBe(1);
    expect(armed.length).toBeGreaterThan(0);
    await node.stop();
  });

  it('a member whose process stalled steps the heartbeats that arrived meanwhile before its election timer acts', async () => {
    const h = manualClock(3);
    const { env, armed } = h;
    const roleChanges: string[] = [];
    const node = await createNode({
      id: 'a',
      peers: ['a', 'b', 'c'],
      env,
      logStore: new SimpleLogStore(env.fs),
      stateMachine: { apply: () => null, snapshot: () => new Uint8Array(), restore: () => undefined },
      observer: { onRoleChange: (_id, t) => roleChanges.push(`${t.from}->${t.to}`) },
    });
    const heartbeat = (): RaftMessage => ({
      type: 'AppendRequest',
      term: 1,
      leaderId: 'b',
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [],
      leaderCommit: 0,
      readSeq: 0,
    });
    const fireDue = async () => {
      for (const t of armed.filter((x) => x.at <= h.now)) {
        armed.splice(armed.indexOf(t), 1);
        t.fn();
      }
      await settleMicrotasks();
    };
    h.deliver('b', heartbeat());
    await settleMicrotasks();
    roleChanges.length = 0; // following b is not what this test is about
    // Stalled for 2 s (past any election timeout); a heartbeat waits in the socket. Read first:
    h.now += 2000;
    h.deliver('b', heartbeat());
    await settleMicrotasks();
    await fireDue();
    h.now += 1;
    await fireDue();
    // Stalled again; this time the (late) timer fires first, as Node orders it after a stall, and
    // a client's read is read before the heartbeat.
    h.now += 2000;
    await fireDue();
    await expect(node.read('linearizable')).rejects.toMatchObject({ reason: 'not_leader' });
    h.deliver('b', heartbeat());
    await settleMicrotasks();
    h.now += 1;
    await fireDue();
    expect(roleChanges).toEqual([]);
    expect(node.status().role).toBe('follower');
    expect(node.status().term).toBe(1);
    // A leader that is really gone: the deferred firing then starts the election.
    h.now += 2000;
    await fireDue();
    h.now += 1;
    await fireDue();
    expect(node.status().role).not.toBe('follower');
    node.stop();
  });

  it('a leader whose timer fires late sends its heartbeats at once (no deferral)', async () => {
    const h = manualClock(4);
    const node = await createNode({
      id: 'a',
      peers: ['a', 'b', 'c'],
      env: h.env,
      logStore: new SimpleLogStore(h.env.fs),
      stateMachine: { apply: () => null, snapshot: () => new Uint8Array(), restore: () => undefined },
      config: { preVote: false },
    });
    const fireDue = async () => {
      for (const t of h.armed.filter((x) => x.at <= h.now)) {
        h.armed.splice(h.armed.indexOf(t), 1);
        t.fn();
      }
      await settleMicrotasks();
    };
    h.now += 1000; // past the election timeout: a campaigns
    await fireDue();
    h.now += 1;
    await fireDue();
    const request = h.sent.find((m) => m.message.type === 'VoteRequest')?.message;
    if (request?.type !== 'VoteRequest') throw new Error('a sent no VoteRequest');
    h.deliver('b', {
      type: 'VoteResponse',
      term: request.term,
      granted: true,
      isPreVote: false,
    });
    await settleMicrotasks();
    expect(node.status().role).toBe('leader');
    h.sent.length = 0;
    h.now += 500; // the loop was busy: the heartbeat timer fires 450 ms late
    await fireDue();
    expect(h.sent.some((m) => m.to === 'b' && m.message.type === 'AppendRequest')).toBe(true);
    node.stop();
  });
});
