import { decodeRaftMessage, encodeRaftMessage, type RaftMessage } from '../../generated/index.js';
import type { Env } from '../../runtime/env/types.js';
import { crc32 } from '../../runtime/raft/crc32.js';

/**
 * An `Env` for driving one node by hand: the clock stands still, timers never fire, sends are
 * only recorded (`sent`), and `deliver` hands the node a message as if `from` had sent it.
 */
export function manualEnv(): {
  env: Env;
  deliver: (from: string, m: RaftMessage) => void;
  sent: { to: string; message: RaftMessage }[];
} {
  let handler: ((from: string, frame: Uint8Array) => void) | null = null;
  const sent: { to: string; message: RaftMessage }[] = [];
  const env: Env = {
    clock: { now: () => 1000, setTimer: () => ({}), clearTimer: () => undefined },
    random: () => 0.5,
    network: {
      send: (to, frame) => {
        sent.push({ to, message: decodeRaftMessage(frame) });
      },
      onReceive: (h) => {
        handler = h;
      },
    },
    fs: {} as Env['fs'],
  };
  return { env, sent, deliver: (from, m) => handler?.(from, encodeRaftMessage(m)) };
}

/** Lets the node's promise chains (Ready loop, background snapshot) run to rest. */
export async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** A leader `b`'s whole snapshot at `index` (term 1, voters a, b, c) in one InstallSnapshot chunk. */
export function installSnapshotFromB(index: number, data: Uint8Array): RaftMessage {
  return {
    type: 'InstallSnapshotRequest',
    term: 1,
    leaderId: 'b',
    snapshotId: index,
    meta: {
      index,
      term: 1,
      config: { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [], addresses: [] },
    },
    offset: 0,
    totalSize: data.length,
    data,
    chunkCrc: crc32(data),
    done: true,
  };
}
