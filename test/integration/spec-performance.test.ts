/**
 * The spec's performance tests (`measured_by: bench`) each map to a bench workload that exists,
 * is selectable with `--workloads`, and runs by default in `consensus bench`.
 */
import { describe, expect, it } from 'vitest';
import { allWorkloads, SPEC_PERFORMANCE_WORKLOADS } from '../../bench/workloads/index.js';
import { SPEC_TESTS } from '../../generated/index.js';

describe('spec performance tests as bench workloads', () => {
  const perf = SPEC_TESTS.filter((t) => t.category === 'performance');

  it('election_latency, commit_throughput, lock_overhead: every performance spec test has a workload', () => {
    expect(perf.map((t) => t.name).sort()).toEqual([
      'commit_throughput',
      'election_latency',
      'lock_overhead',
    ]);
    const ids = allWorkloads(0.01, 1000).map((w) => w.id);
    for (const t of perf) {
      const id = SPEC_PERFORMANCE_WORKLOADS[t.name];
      expect(id, `${t.name} has no workload`).toBeDefined();
      expect(ids, `${t.name} -> ${id}`).toContain(id);
    }
  });

  it('commit_throughput keeps the spec input (64 in flight)', () => {
    const spec = perf.find((t) => t.name === 'commit_throughput')!;
    expect((spec.input as { in_flight: number }).in_flight).toBe(64);
    const w = allWorkloads(1, 1000).find((x) => x.id === SPEC_PERFORMANCE_WORKLOADS.commit_throughput);
    expect(w?.title).toContain('64 in flight');
  });
});
