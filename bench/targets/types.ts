/**
 * What a benchmark workload runs against: our cluster or a baseline (etcd). Each target is one
 * small adapter over its client; workloads only see this interface, so both sides of the table run
 * the very same code path.
 */

/** Read consistency levels, as in the contract's `Client.get`. */
export type Consistency = 'linearizable' | 'lease' | 'stale';

/** A lock held through `BenchTarget.lock`. */
export interface BenchLock {
  /** Releases the lock; resolves once the release is acknowledged. */
  release(): Promise<void>;
}

/** The operations the workloads need. Every method may be called concurrently. */
export interface BenchTarget {
  /** Short name used in the table ("ours", "etcd"). */
  readonly name: string;
  /**
   * Human notes printed under the table: how each operation maps onto this target (for instance
   * which lock API etcd serves, or that a consistency level is emulated).
   */
  readonly notes: readonly string[];
  /** Writes `value` under `key`; resolves once the write is committed (acknowledged durable). */
  put(key: string, value: Uint8Array): Promise<void>;
  /** Reads `key` at the given consistency; null when absent. */
  get(key: string, opts: { consistency: Consistency }): Promise<Uint8Array | null>;
  /**
   * Acquires the lock `name`, waiting while another caller holds it; resolves once held.
   * Concurrent callers on the same target must be treated as distinct owners.
   */
  lock(name: string): Promise<BenchLock>;
  /**
   * Arrives at barrier `name` (a fresh name per round) as one of `participants`; resolves once
   * the barrier releases, that is once `participants` callers have arrived. Absent when the
   * target has no barrier: the barrier workload then reports "n/a".
   */
  barrier?(name: string, participants: number): Promise<void>;
  /**
   * Kills the current leader (SIGKILL), resolves with the ms from the kill until a write committed
   * through the new leader, after bringing the killed member back. Absent: "n/a" for `failover`.
   */
  failover?(): Promise<number>;
  /**
   * Ends what earlier operations left open that keeps the target busy while nobody uses it, so
   * one target's background work does not run during the other's measurements (ours: closes the
   * pooled lock/barrier sessions, whose open leases make the leader commit TimeAdvance 10 times a
   * second). Called after the warm-up and after every workload; absent: nothing to end.
   */
  settle?(): Promise<void>;
  /** Releases every resource (connections, leases). */
  close(): Promise<void>;
}
