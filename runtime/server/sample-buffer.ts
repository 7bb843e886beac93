/**
 * Latency samples taken on a hot path and folded into a metric later, off that path: at scrape
 * time (a prom-client `collect` hook), or on the next event-loop turn once `max` are pending.
 *
 * Why: a prom-client `observe` costs 5-8 µs on a cold cache (closures, label hashing, a bucket
 * scan), and the fsync histogram's sat on a follower between its fdatasync and the acknowledgement
 * of every append. Recording here is a store into a preallocated array.
 */
export interface SampleBuffer {
  /** Records a sample. Past `max` pending samples with no sink, the sample is dropped. */
  record(value: number): void;
  /** Hands the pending samples to `into`, oldest first, and forgets them. */
  drain(into: (value: number) => void): void;
  /**
   * Where a full buffer drains by itself (on the next turn, `setImmediate`; samples recorded in
   * between are dropped). Null (the default) while nothing consumes the samples: the first `max`
   * are kept for a consumer attached later.
   */
  sink: ((value: number) => void) | null;
}

/** Creates a buffer of at most `max` pending samples (default 1024). */
export function createSampleBuffer(max = 1024): SampleBuffer {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be an integer >= 1, got ${max}`);
  const pending = new Float64Array(max);
  let count = 0;
  let scheduled = false;
  const buffer: SampleBuffer = {
    sink: null,
    record(value) {
      if (count < max) pending[count++] = value;
      if (count === max && buffer.sink && !scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          if (buffer.sink) buffer.drain(buffer.sink);
        });
      }
    },
    drain(into) {
      const n = count;
      count = 0;
      for (let i = 0; i < n; i++) into(pending[i] as number);
    },
  };
  return buffer;
}
