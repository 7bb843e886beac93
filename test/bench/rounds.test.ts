import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { parseBenchArgs } from '../../bench/main.js';
import { formatTable, toJson } from '../../bench/report.js';
import { median, mergeRounds, perRoundRatios, roundOrder } from '../../bench/rounds.js';
import { runBench } from '../../bench/run-bench.js';
import type { BenchTarget } from '../../bench/targets/types.js';
import { putLatency } from '../../bench/workloads/index.js';
import type { WorkloadResult } from '../../bench/workloads/types.js';

let virtualNow = 0;

function ok(target: string, p50: number, samples: number[]): WorkloadResult {
  return {
    workload: 'put-latency',
    target,
    status: 'ok',
    ops: samples.length,
    durationMs: 10,
    truncated: false,
    metrics: [{ name: 'p50', unit: 'ms', value: p50, better: 'lower' }],
    samples,
  };
}

/**
 * A target whose puts take `latencyMs()` on a virtual `performance.now()` (the test installs it:
 * busy-waiting on the real clock made the figures depend on the machine's load) and record which
 * target each put went to.
 */
function recordingTarget(name: string, calls: string[], latencyMs: () => number): BenchTarget {
  return {
    name,
    notes: [],
    put: async () => {
      calls.push(name);
      virtualNow += latencyMs();
    },
    get: async () => null,
    lock: async () => ({ release: async () => undefined }),
    close: async () => undefined,
  };
}

describe('interleaved rounds (--rounds)', () => {
  it('alternates the target order per round', () => {
    expect(roundOrder(['ours', 'etcd'], 0)).toEqual(['ours', 'etcd']);
    expect(roundOrder(['ours', 'etcd'], 1)).toEqual(['etcd', 'ours']);
    expect(roundOrder(['ours', 'etcd'], 2)).toEqual(['ours', 'etcd']);
  });

  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  it('each merged figure is the median over rounds; samples and ops pool', () => {
    const rounds = [
      [ok('ours', 1, [1, 1]), ok('etcd', 2, [2])],
      [ok('ours', 5, [5]), ok('etcd', 2.5, [2.5])],
      [ok('ours', 1.2, [1.2]), ok('etcd', 3, [3])],
    ];
    const merged = mergeRounds(rounds);
    const ours = merged.find((r) => r.target === 'ours')!;
    expect(ours.metrics[0]!.value).toBe(1.2); // not the mean 2.4 of a slow round
    expect(ours.ops).toBe(4);
    expect(ours.durationMs).toBe(30);
    expect(ours.samples).toEqual([1, 1, 5, 1.2]);
    expect(ours.latency?.count).toBe(4);
    expect(merged.find((r) => r.target === 'etcd')!.metrics[0]!.value).toBe(2.5);
    const ratios = perRoundRatios(rounds, 'put-latency', 'p50', 'ours', 'etcd');
    expect(ratios.map((x) => x.toFixed(3))).toEqual(['0.500', '2.000', '0.400']);
  });

  it('a failure in any round is kept, not averaged away', () => {
    const failed: WorkloadResult = { ...ok('ours', 0, []), status: 'error', reason: 'boom', metrics: [] };
    const merged = mergeRounds([[ok('ours', 1, [1])], [failed], [ok('ours', 1, [1])]]);
    expect(merged[0]).toMatchObject({ status: 'error', reason: 'boom' });
  });

  it('runBench with 3 rounds runs the targets in alternating order and reports per-round ratios', async () => {
    const now = vi.spyOn(performance, 'now').mockImplementation(() => virtualNow);
    onTestFinished(() => now.mockRestore());
    const calls: string[] = [];
    const a = recordingTarget('a', calls, () => 0.2);
    // b is slow only in the second round (puts 10-19 of the run): a slow minute of the disk.
    const b = recordingTarget('b', calls, () => (calls.length > 10 && calls.length <= 20 ? 1.6 : 0.4));
    const report = await runBench({
      targets: [a, b],
      workloads: [putLatency({ ops: 5 })],
      rounds: 3,
      out: null,
    });
    const order = calls.filter((_, i) => i % 5 === 0);
    expect(order).toEqual(['a', 'b', 'b', 'a', 'a', 'b']);
    expect(report.rounds).toHaveLength(3);
    expect(report.results).toHaveLength(2);
    expect(report.results.find((r) => r.target === 'a')!.ops).toBe(15);
    const text = formatTable(report);
    expect(text).toMatch(/3 rounds, targets in alternating order/);
    const perRound = /put-latency p50 a\/b per round: (\S+) (\S+) (\S+)/.exec(text);
    expect(perRound).not.toBeNull();
    // The slow round shows in its own ratio; the median figure of b stays that of the fast rounds.
    expect(Number.parseFloat(perRound![2]!)).toBeLessThan(Number.parseFloat(perRound![1]!));
    const bP50 = report.results.find((r) => r.target === 'b')!.metrics.find((m) => m.name === 'p50')!.value;
    expect(bP50).toBeLessThan(1.2);
    const json = JSON.parse(toJson(report));
    expect(json.rounds).toHaveLength(3);
    expect(json.rounds[0][0].samples).toBeUndefined();
  });

  it('a disruptive workload (failover) runs in the last round only, and is still reported', async () => {
    const calls: string[] = [];
    const a = recordingTarget('a', calls, () => 0);
    const b = recordingTarget('b', calls, () => 0);
    const disruptive = { ...putLatency({ ops: 2 }), id: 'kills', disruptive: true };
    const report = await runBench({
      targets: [a, b],
      workloads: [putLatency({ ops: 5 }), disruptive],
      rounds: 3,
      out: null,
    });
    expect(calls).toHaveLength(3 * 2 * 5 + 2 * 2); // put-latency every round, kills once per target
    expect(report.rounds?.map((r) => r.filter((x) => x.workload === 'kills').length)).toEqual([0, 0, 2]);
    expect(report.results.filter((r) => r.workload === 'kills').map((r) => r.ops)).toEqual([2, 2]);
  });

  it('with primeOps, each target puts that many times right before each of its workloads, unmeasured', async () => {
    const calls: string[] = [];
    const keys: string[] = [];
    const target = (name: string): BenchTarget => {
      const t = recordingTarget(name, calls, () => 0);
      return {
        ...t,
        put: async (key, value) => {
          keys.push(key);
          await t.put(key, value);
        },
      };
    };
    const report = await runBench({
      targets: [target('a'), target('b')],
      workloads: [putLatency({ ops: 3 })],
      rounds: 2,
      primeOps: 2,
      out: null,
    });
    // Round 1: a primes then measures, b primes then measures; round 2 reversed.
    expect(calls).toEqual([
      'a',
      'a',
      'a',
      'a',
      'a',
      'b',
      'b',
      'b',
      'b',
      'b',
      'b',
      'b',
      'b',
      'b',
      'b',
      'a',
      'a',
      'a',
      'a',
      'a',
    ]);
    expect(keys.filter((k) => k.includes('/prime/'))).toHaveLength(8);
    // The primes are not in the figures: 3 measured puts per round and target.
    expect(report.results.map((r) => r.ops)).toEqual([6, 6]);
  });

  it('--prime-ops takes an integer from 0 to 100000', () => {
    expect(parseBenchArgs(['--prime-ops', '0']).primeOps).toBe(0);
    expect(parseBenchArgs(['--prime-ops', '500']).primeOps).toBe(500);
    for (const bad of ['-1', '1.5', 'x', '100001'])
      expect(() => parseBenchArgs(['--prime-ops', bad])).toThrow(/--prime-ops/);
  });

  it('--rounds takes an integer from 1 to 100', () => {
    expect(parseBenchArgs(['--rounds', '5']).rounds).toBe(5);
    for (const bad of ['0', '1.5', 'x', '101'])
      expect(() => parseBenchArgs(['--rounds', bad])).toThrow(/--rounds/);
  });
});
