/**
 * What a leader of the coordination state machine owes the cluster, checked every
 * SESSION_CHECK_INTERVAL_MS on the env's monotonic clock (used by `startServer` and the embedded
 * `createNode`):
 * - TimeAdvance: commits the time elapsed since its previous one. A new leader starts counting at its
 *   election, so committed time never runs faster than real time (leases only get longer). While
 *   nothing waits on committed time (no session, lease, lock wait or delay, waiting barrier) the
 *   elapsed time is dropped instead of committed, so an idle key-value cluster writes nothing to
 *   its disks. Dropping time is the safe direction too, and a deadline created later is counted
 *   from the tick before its command was proposed, as it is without skipping.
 * - KvCompact: a delete's tombstone may go once every current member has the delete in its log. The
 *   floor is the lowest match index over all members (at most the commit index); committing it
 *   makes every replica collect the same tombstones. It is committed only when a tombstone lies at
 *   or below the floor (each KvCompact raises the floor, so committing it regardless would go on
 *   forever on an idle cluster).
 * Both go into the log as the server's own envelopes (client id '', never deduplicated).
 */

import type { CommandMessage } from '../../generated/index.js';
import { encodeCommandMessage, SESSION_CHECK_INTERVAL_MS } from '../../generated/index.js';
import type { CoordinationStateMachine } from '../coordination/state-machine.js';
import type { Clock, TimerHandle } from '../env/types.js';
import type { NodeStatus, RaftNode } from '../node/node.js';
import { encodeEnvelope } from './envelope.js';

/** How often the leader commits a tombstone-collection floor (KvCompact) by default. */
export const TOMBSTONE_COLLECT_INTERVAL_MS = 5_000;

/** The `startLeaderDuties` hooks that let it skip entries the coordination `machine` does not need. */
export function coordinationDutyHooks(machine: CoordinationStateMachine): {
  timeNeeded: () => boolean;
  oldestTombstone: () => number | null;
} {
  return {
    timeNeeded: () => machine.hasPendingDeadline(),
    oldestTombstone: () => machine.oldestTombstone(),
  };
}

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
  opts: {
    onTick?: (s: NodeStatus) => void;
    tombstoneIntervalMs?: number;
    /** Whether anything waits on committed time (default: always; then TimeAdvance never pauses). */
    timeNeeded?: () => boolean;
    /** The index of the oldest kept tombstone, null when none (default: KvCompact whenever the floor rises). */
    oldestTombstone?: () => number | null;
  } = {},
): LeaderDuties {
  const propose = (command: CommandMessage) =>
    node.propose(encodeEnvelope({ clientId: '', sequence: 0, command: encodeCommandMessage(command) }));
  const tombstoneInterval = opts.tombstoneIntervalMs ?? TOMBSTONE_COLLECT_INTERVAL_MS;
  let stopped = false;
  let timer: TimerHandle | null = null;
  let lastAdvance: number | null = null;
  /** The term `lastAdvance` was counted in: a leadership lost and won back between two ticks MUST
   * start counting afresh, or time another leader committed meanwhile would be committed twice. */
  let countingTerm = -1;
  let advancing = false;
  let compactFloor = 0;
  let compactAt = clock.now();

  const advanceTime = () => {
    if (lastAdvance === null) {
      lastAdvance = clock.now();
      return;
    }
    if (!advancing && opts.timeNeeded && !opts.timeNeeded()) {
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
    if (opts.oldestTombstone) {
      const oldest = opts.oldestTombstone();
      if (oldest === null || oldest > floor) return;
    }
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
    if (s.role !== 'leader' || s.term !== countingTerm) {
      lastAdvance = null;
      countingTerm = s.term;
    }
    if (s.role === 'leader') {
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
