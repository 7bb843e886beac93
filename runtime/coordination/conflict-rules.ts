/**
 * Validation of per-key-prefix conflict rules given as configuration (a `--config` file, or
 * options of `startServer`/`createNode`). Rules are part of the replicated state machine's
 * definition: every member MUST run the same rules, or replicas resolve conflicts differently.
 */
import { CONFLICT_STRATEGY_VALUES, isConflictStrategy } from '../../generated/index.js';
import { BUILTIN_MERGES } from './merges.js';
import type { ConflictRule } from './state-machine.js';

/**
 * Checks `input` is a list of `{ prefix, strategy, merge? }` with known strategies, a merge name for
 * (and only for) `merge_function` that names a built-in (or one of `customMerges`), and no prefix
 * listed twice. Throws a TypeError naming the offending rule.
 */
export function parseConflictRules(input: unknown, customMerges: readonly string[] = []): ConflictRule[] {
  if (!Array.isArray(input))
    throw new TypeError('conflictRules must be a list of { prefix, strategy, merge? }');
  const merges = new Set([...Object.keys(BUILTIN_MERGES), ...customMerges]);
  const seen = new Set<string>();
  return input.map((raw, i) => {
    const at = `conflictRules[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new TypeError(`${at} must be an object`);
    const { prefix, strategy, merge, ...rest } = raw as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw new TypeError(`${at}: unknown key ${JSON.stringify(extra[0])}`);
    if (typeof prefix !== 'string')
      throw new TypeError(`${at}.prefix must be a string ('' matches every key)`);
    if (seen.has(prefix)) throw new TypeError(`${at}: prefix ${JSON.stringify(prefix)} is listed twice`);
    seen.add(prefix);
    if (!isConflictStrategy(strategy))
      throw new TypeError(
        `${at}.strategy must be one of ${CONFLICT_STRATEGY_VALUES.join(', ')}, got ${JSON.stringify(strategy)}`,
      );
    if (strategy === 'merge_function') {
      if (typeof merge !== 'string' || !merges.has(merge))
        throw new TypeError(
          `${at}.merge must name a merge function (${[...merges].join(', ')}), got ${JSON.stringify(merge)}`,
        );
      return { prefix, strategy, merge };
    }
    if (merge !== undefined) throw new TypeError(`${at}.merge is only for strategy merge_function`);
    return { prefix, strategy };
  });
}
