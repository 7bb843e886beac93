/**
 * What a leader of the coordination state machine owes the cluster, checked every
 * SESSION_CHECK_INTERVAL_MS on the env's monotonic clock (used by `startServer` and the embedded
 * `createNode`):
 * - TimeAdvance: commits the time elapsed since its previous one. A new leader starts counting at its
 *   election, so committed time never runs faster than real time (leases only get longer).
 * - KvCompact: a delete's tombstone may go once every current member has the delete in its log. The
 *   floor is the lowest match index over all members (at most the commit index); committing it
 *   makes every replica collect the same tombstones.
 * Both go into the log as the server's own envelopes (client id '', never deduplicated).
 */

import type { CommandMessage } from '../../generated/index.js';
import { encodeCommandMessage, SESSION_CHECK_INTERVAL_MS } from '../../generated/index.js';
import type { Clock, TimerHandle } from '../env/types.js';
import type { NodeStatus, RaftNode } from '../node/node.js';
import { encodeEnvelope } from './envelope.js';

/** How often the leader commits a tombstone-collection floor (KvCompact) by default. */
export const TOMBSTONE_COLLECT_INTERVAL_MS = 5_000;

/** A running duty loop. */
export interface LeaderDuties {
  stop(): void;
}

/**
 * Starts the loop. `onTick` runs first on every tick, on every member (the server uses it to follow
 * membership addresses).
 */
export function startLeaderDuties(
  node: RaftNode,
  clock: Clock,
  opts: { onTick?: (s: NodeStatus) => void; tombstoneIntervalMs?: number } = {},
): LeaderDuties {
  const propose = (command: CommandMessage) =>
    node.propose(encodeEnvelope({ clientId: '', sequence: 0, command: encodeCommandMessage(command) }));
  const tombstoneInterval = opts.tombstoneIntervalMs ?? TOMBSTONE_COLLECT_INTERVAL_MS;
  let stopped = false;
  let timer: TimerHandle | null = null;
  let lastAdvance: number | null = null;
  let advancing = false;
  let compactFloor = 0;
  let compactAt = clock.now();

  const advanceTime = () => {
    if (lastAdvance === null) {
      lastAdvance = clock.now();
      return;
    }
    const elapsed = Math.floor(clock.now() - lastAdvance);
    if (advancing || elapsed <= 0) return;
    advancing = true;
    lastAdvance += elapsed;
    propose({ type: 'TimeAdvance', elapsedMs: elapsed })
      .catch(() => undefined) // lost time only lengthens leases: the safe direction
      .finally(() => {
        advancing = false;
      });
  };

  const collectTombstones = (s: NodeStatus) => {
    if (clock.now() - compactAt < tombstoneInterval) return;
    compactAt = clock.now();
    const floor = Math.min(s.commitIndex, ...s.progress.map((p) => p.match));
    if (floor <= compactFloor) return;
    compactFloor = floor;
    propose({ type: 'KvCompact', appliedFloor: floor }).catch(() => {
      compactFloor = 0; // retried at the next interval
    });
  };

  const tick = () => {
    timer = null;
    if (stopped) return;
    const s = node.status();
    opts.onTick?.(s);
    if (s.role !== 'leader') lastAdvance = null;
    else {
      advanceTime();
      collectTombstones(s);
    }
    timer = clock.setTimer(SESSION_CHECK_INTERVAL_MS, tick);
  };
  tick();
  return {
    stop() {
      stopped = true;
      if (timer !== null) clock.clearTimer(timer);
      timer = null;
    },
  };
}
