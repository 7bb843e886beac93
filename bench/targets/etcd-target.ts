/**
 * The etcd baseline as a `BenchTarget`: KV through the `etcd3` gRPC client; locks through etcd's
 * own v3lock service (the server-side mutex `etcdctl lock` uses), reached via the grpc-gateway
 * JSON endpoints, because the `etcd3` npm client has no v3lock stub and its own `lock()` recipe
 * fails instead of waiting when the lock is held; barriers through a keys + watch recipe.
 *
 * Checked against etcd 3.4.23: `/v3/lease/grant`, `/v3/lock/lock`, `/v3/lock/unlock` answer (so
 * does `/v3beta/...`; `/v3alpha` is 404). The prefix is probed at connect time.
 */
import { randomUUID } from 'node:crypto';
import { Etcd3, EtcdLockFailedError } from 'etcd3';
import type { BenchLock, BenchTarget, Consistency } from './types.js';

/** Options of `connectEtcdTarget`. */
export interface EtcdTargetOptions {
  /** Client endpoints, `http://127.0.0.1:PORT`. */
  endpoints: string[];
  /**
   * Lock implementation: `v3lock` (server-side mutex over the JSON gateway, default when the
   * gateway answers), or `recipe` (the etcd3 client's `lock()`, retried while held).
   */
  lockApi?: 'v3lock' | 'recipe';
  /** TTL of the session leases that own v3lock keys (default 300 s: outlives any bench run). */
  leaseTtlSec?: number;
  /** Key prefix for everything the bench writes (default `bench/`), deleted on close. */
  prefix?: string;
}

/** JSON POST to the grpc-gateway; throws with the body on a non-2xx answer. */
async function gatewayPost(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`etcd gateway ${url}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Finds the gateway prefix etcd serves (`/v3` on 3.4+, `/v3beta` on 3.3), or null. */
export async function probeGatewayPrefix(endpoint: string): Promise<string | null> {
  for (const prefix of ['/v3', '/v3beta']) {
    try {
      const res = await gatewayPost(`${endpoint}${prefix}/maintenance/status`, {});
      if (typeof res.version === 'string') return prefix;
    } catch {
      // try the next one
    }
  }
  return null;
}

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Connects to an etcd cluster and returns it as a `BenchTarget` named "etcd".
 * Consistency mapping: `linearizable` is etcd's default read (ReadIndex through the leader);
 * `stale` is a serializable (member-local) read; `lease` has no etcd equivalent and is served as
 * a linearizable read (noted in `notes`).
 */
export async function connectEtcdTarget(opts: EtcdTargetOptions): Promise<BenchTarget> {
  if (opts.endpoints.length === 0) throw new Error('etcd target needs at least one endpoint');
  const client = new Etcd3({ hosts: opts.endpoints });
  const prefix = opts.prefix ?? 'bench/';
  const ttl = opts.leaseTtlSec ?? 300;
  const gatewayBase = opts.endpoints[0]!;
  const gw = opts.lockApi === 'recipe' ? null : await probeGatewayPrefix(gatewayBase);
  if (opts.lockApi === 'v3lock' && gw === null)
    throw new Error(`etcd v3lock gateway not reachable at ${gatewayBase}`);
  const lockApi = gw === null ? 'recipe' : 'v3lock';

  // v3lock keys are `<name>/<lease id>`: two concurrent lockers sharing a lease would get the same
  // key and both believe they hold the lock. So each outstanding lock() call borrows its own
  // lease from this pool (like one etcd concurrency.Session per worker) and returns it on release.
  const freeLeases: string[] = [];
  const allLeases: string[] = [];
  const borrowLease = async (): Promise<string> => {
    const free = freeLeases.pop();
    if (free !== undefined) return free;
    const res = await gatewayPost(`${gatewayBase}${gw}/lease/grant`, { TTL: ttl });
    const id = String(res.ID);
    allLeases.push(id);
    return id;
  };

  const lockV3 = async (name: string): Promise<BenchLock> => {
    const lease = await borrowLease();
    let res: Record<string, unknown>;
    try {
      res = await gatewayPost(`${gatewayBase}${gw}/lock/lock`, { name: b64(prefix + name), lease });
    } catch (err) {
      freeLeases.push(lease);
      throw err;
    }
    const key = res.key;
    if (typeof key !== 'string') throw new Error('v3lock answered without a key');
    return {
      release: async () => {
        await gatewayPost(`${gatewayBase}${gw}/lock/unlock`, { key });
        freeLeases.push(lease);
      },
    };
  };

  const lockRecipe = async (name: string): Promise<BenchLock> => {
    for (;;) {
      const lock = client.lock(prefix + name).ttl(ttl);
      try {
        await lock.acquire();
        return { release: () => lock.release() };
      } catch (err) {
        if (!(err instanceof EtcdLockFailedError)) throw err;
        await sleep(1); // held by someone else: the recipe has no wait, so poll
      }
    }
  };

  const barrier = async (name: string, participants: number): Promise<void> => {
    const dir = `${prefix}barrier/${name}/`;
    await client.put(dir + randomUUID()).value('1');
    const first = await client.getAll().prefix(dir).exec();
    let count = first.kvs.length;
    if (count >= participants) return;
    // Keys under `dir` are unique and never deleted during the round, so every later put event
    // is one more arrival.
    const watcher = await client
      .watch()
      .prefix(dir)
      .startRevision(String(BigInt(first.header.revision) + 1n))
      .create();
    try {
      await new Promise<void>((resolve, reject) => {
        watcher.on('put', () => {
          count++;
          if (count >= participants) resolve();
        });
        watcher.on('error', reject);
      });
    } finally {
      await watcher.cancel();
    }
  };

  const notes = [
    `etcd: ${opts.endpoints.length} members, fsync on; KV via etcd3 gRPC client (hosts: all members)`,
    'etcd: "lease" reads have no etcd equivalent and run as linearizable reads; "stale" = serializable',
    lockApi === 'v3lock'
      ? `etcd: lock = server-side v3lock (${gw}/lock/lock + /lock/unlock over the JSON grpc-gateway, one lease per concurrent locker, granted once)`
      : 'etcd: lock = etcd3 client lock() recipe (lease + txn), retried every 1 ms while held',
    'etcd: barrier = recipe (put unique key under prefix, count, watch prefix until N arrivals)',
  ];

  return {
    name: 'etcd',
    notes,
    async put(key, value) {
      await client.put(prefix + key).value(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    },
    async get(key, { consistency }: { consistency: Consistency }) {
      const b = client.get(prefix + key);
      if (consistency === 'stale') b.serializable(true);
      const buf = await b.buffer();
      return buf === null ? null : new Uint8Array(buf);
    },
    lock: lockApi === 'v3lock' ? lockV3 : lockRecipe,
    barrier,
    async close() {
      await Promise.allSettled(
        allLeases.map((ID) => gatewayPost(`${gatewayBase}${gw}/lease/revoke`, { ID })),
      );
      await client
        .delete()
        .prefix(prefix)
        .catch(() => undefined);
      client.close();
    },
  };
}
