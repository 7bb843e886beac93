import type { ClusterConfig } from '../../generated/index.js';

/**
 * Quorum arithmetic over a (possibly joint) configuration. In a joint configuration
 * (`votersOutgoing` non-empty) every decision needs a majority of BOTH voter sets (Raft §6).
 */

/** Size of a majority of `n` voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The largest value v such that a majority of `voters` have `valueOf(id) >= v` (0 for an empty set,
 * which imposes no constraint in the joint case, see `quorumValue`).
 */
export function majorityValue(voters: readonly string[], valueOf_: (id: string) => number): number {
  if (voters.length === 0) return Number.POSITIVE_INFINITY;
  const vals = voters.map(valueOf_).sort((a, b) => b - a);
  return vals[majority(voters.length) - 1] as number;
}

/** `majorityValue` over both halves of a joint configuration (the minimum of the two). */
export function quorumValue(config: ClusterConfig, valueOf_: (id: string) => number): number {
  const v = Math.min(majorityValue(config.voters, valueOf_), majorityValue(config.votersOutgoing, valueOf_));
  return v === Number.POSITIVE_INFINITY ? 0 : v;
}

/** Outcome of a vote count. */
export type VoteResult = 'won' | 'lost' | 'pending';

function majorityVote(voters: readonly string[], votes: ReadonlyMap<string, boolean>): VoteResult {
  if (voters.length === 0) return 'won';
  let yes = 0;
  let no = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) yes++;
    else if (v === false) no++;
  }
  const q = majority(voters.length);
  if (yes >= q) return 'won';
  if (voters.length - no < q) return 'lost';
  return 'pending';
}

/** Counts votes in a (possibly joint) configuration. */
export function voteResult(config: ClusterConfig, votes: ReadonlyMap<string, boolean>): VoteResult {
  const a = majorityVote(config.voters, votes);
  const b = majorityVote(config.votersOutgoing, votes);
  if (a === 'won' && b === 'won') return 'won';
  if (a === 'lost' || b === 'lost') return 'lost';
  return 'pending';
}

/** Every voter of the configuration (both halves when joint), without duplicates, sorted. */
export function allVoters(config: ClusterConfig): string[] {
  return [...new Set([...config.voters, ...config.votersOutgoing])].sort();
}

/** Every member (voters of both halves and learners), sorted. */
export function allMembers(config: ClusterConfig): string[] {
  return [...new Set([...config.voters, ...config.votersOutgoing, ...config.learners])].sort();
}

/** True when `id` may vote (and so may campaign) in this configuration. */
export function isVoter(config: ClusterConfig, id: string): boolean {
  return config.voters.includes(id) || config.votersOutgoing.includes(id);
}
