/**
 * Warm-up before measuring: every target gets the same unmeasured mix (sequential puts, puts with
 * 64 in flight, linearizable gets, lock acquire+release) for `ms` milliseconds, so the figures
 * describe steady state: V8 has optimized the client code of both targets (ours and the etcd3
 * client run in this process) and our members' code, connections are open, and etcd's first
 * requests are behind it as well. Warm-up keys live under `RUN/warmup/` and never collide with a
 * workload's keys.
 */
import type { BenchTarget } from './targets/types.js';

const VALUE = new Uint8Array(128).fill(0x77);

/** Runs the warm-up mix against `target` for about `ms` milliseconds (0: nothing). */
export async function warmUp(target: BenchTarget, runId: string, ms: number): Promise<void> {
  const end = performance.now() + ms;
  const prefix = `${runId}/warmup`;
  let i = 0;
  while (performance.now() < end) {
    for (let k = 0; k < 50; k++) await target.put(`${prefix}/seq/${i++ % 1000}`, VALUE);
    await Promise.all(
      Array.from({ length: 64 }, async (_, w) => {
        for (let k = 0; k < 8; k++) await target.put(`${prefix}/par/${(w * 8 + k) % 1000}`, VALUE);
      }),
    );
    for (let k = 0; k < 20; k++) await target.get(`${prefix}/seq/${k}`, { consistency: 'linearizable' });
    for (let k = 0; k < 10; k++) await (await target.lock(`${prefix}/lock`)).release();
  }
}

/**
 * `ops` unmeasured sequential puts (keys under `RUN/prime/`), run by each target right before each
 * of its measured workloads. Without it the first measurement of a round depends on how long the
 * target sat idle before it: in round 1 ours waited out etcd's 10 s warm-up (our cluster is quiet
 * while idle) while etcd measured right after its own, and the first 1,000 puts after 10 s idle
 * ran at p50 0.69-0.86 ms against 0.62-0.64 ms for the next 1,000.
 */
export async function prime(target: BenchTarget, runId: string, ops: number): Promise<void> {
  for (let i = 0; i < ops; i++) await target.put(`${runId}/prime/${i % 100}`, VALUE);
}
