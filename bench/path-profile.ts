/**
 * Where a client call's time goes, on an in-process 3-member cluster (`startServer` x3 on
 * loopback, real WAL with fsync) plus one TCP client (`connect`). Not part of the bench suite:
 * a diagnostic for the put/lock path, run before and after a change in the same way.
 *
 *   node dist/bench/path-profile.js [--n 300] [--inflight 64] [--json FILE]
 *   node --cpu-prof --cpu-prof-dir /tmp/prof dist/bench/path-profile.js   # CPU profile
 *
 * Prints p50/p99/mean of: leader `node.propose` (in-process), WAL save (one fdatasync) on the
 * leader, client put (sequential), put throughput with N in flight, lock acquire+release, and
 * acquisitions/s with 8 workers on one lock.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../runtime/client/client.js';
import { type Server, startServer } from '../runtime/server/server.js';
import { freePorts } from '../runtime/transport/free-ports.js';
import { summarize } from './stats.js';

/** Phases to run (`--phases propose,put,get,throughput,lock,contended`; default all). */
const phases = new Set(
  (process.argv.includes('--phases')
    ? (process.argv[process.argv.indexOf('--phases') + 1] as string)
    : 'propose,put,get,throughput,lock,contended'
  ).split(','),
);

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const fmt = (name: string, xs: number[]) => {
  const s = summarize(xs);
  return `${name.padEnd(28)} n=${String(xs.length).padStart(5)} p50=${s.p50.toFixed(3)} p99=${s.p99.toFixed(3)} mean=${s.mean.toFixed(3)} ms`;
};

async function main(): Promise<void> {
  const n = arg('n', 300);
  const inflight = arg('inflight', 64);
  const ids = ['n1', 'n2', 'n3'];
  const ports = await freePorts(3);
  const root = mkdtempSync(join(tmpdir(), 'vibee-prof-'));
  const peers = new Map(ids.map((id, i) => [id, { host: '127.0.0.1', port: ports[i] as number }]));
  const servers: Server[] = [];
  for (let i = 0; i < 3; i++)
    servers.push(
      await startServer({
        id: ids[i] as string,
        listen: { host: '127.0.0.1', port: ports[i] as number },
        peers,
        dataDir: join(root, ids[i] as string),
      }),
    );
  const out: Record<string, number[] | number> = {};
  try {
    let leader: Server | undefined;
    while (!leader) {
      leader = servers.find((s) => s.node.status().role === 'leader');
      if (!leader) await new Promise((r) => setTimeout(r, 20));
    }
    // WAL save times on the leader (wrapped store.save is private: time via status counters).
    const endpoints = ports.map((p) => `127.0.0.1:${p}`);
    const client = await connect({ endpoints });
    const value = new Uint8Array(128).fill(7);
    for (let i = 0; i < 50; i++) await client.put(`warm/${i}`, value);

    const { encodeCommandMessage } = await import('../generated/index.js');
    const { encodeEnvelope } = await import('../runtime/server/envelope.js');
    if (phases.has('propose')) {
      const propose: number[] = [];
      for (let i = 0; i < n; i++) {
        const cmd = encodeCommandMessage({
          type: 'KvPut',
          key: `p/${i}`,
          value,
          context: { entries: [] },
          actor: 'prof',
        });
        const t0 = performance.now();
        await leader.node.propose(encodeEnvelope({ clientId: '', sequence: 0, command: cmd }));
        propose.push(performance.now() - t0);
      }
      out.propose = propose;
      console.log(fmt('node.propose (in-process)', propose));
    }

    // Time spent inside the leader's propose during client calls, and proposals per call.
    const inner: number[] = [];
    const rawPropose = leader.node.propose.bind(leader.node);
    leader.node.propose = (c: Uint8Array) => {
      const s = performance.now();
      const p = rawPropose(c);
      p.then(
        () => inner.push(performance.now() - s),
        () => undefined,
      );
      return p;
    };
    // WAL counters of every member (diagnostic: reaches into the node's private store).
    type WalLike = { stats(): { syncs: number; writes: number } };
    const wals = servers.map(
      (s) => (s.node as unknown as { store: { storage: { wal: WalLike } } }).store.storage.wal,
    );
    const syncs = () => wals.map((w) => w.stats().syncs);
    if (phases.has('put')) {
      const before = syncs();
      const put: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await client.put(`k/${i}`, value);
        put.push(performance.now() - t0);
      }
      out.put = put;
      console.log(fmt('client put (TCP)', put));
      console.log(fmt('  propose inside puts', inner.splice(0)));
      const after = syncs();
      console.log(
        `  fdatasyncs per put (leader ${leader.id}): ${wals
          .map(
            (_, i) => `${servers[i]?.id}=${(((after[i] as number) - (before[i] as number)) / n).toFixed(2)}`,
          )
          .join(' ')}`,
      );
    }

    if (phases.has('get')) {
      const get: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await client.get(`k/${i}`);
        get.push(performance.now() - t0);
      }
      out.get = get;
      console.log(fmt('client get linearizable', get));
    }

    if (phases.has('throughput')) {
      const total = n * 10;
      const syncsBefore = syncs();
      let next = 0;
      const lat: number[] = [];
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: inflight }, async () => {
          while (next < total) {
            const i = next++;
            const s = performance.now();
            await client.put(`t/${i % 1000}`, value);
            lat.push(performance.now() - s);
          }
        }),
      );
      const ops = (total / (performance.now() - t0)) * 1000;
      out.throughput = ops;
      console.log(`${fmt(`put, ${inflight} in flight`, lat)}  ${ops.toFixed(0)} ops/s`);
      const syncsAfter = syncs();
      console.log(
        `  puts per fdatasync: ${servers
          .map(
            (s, i) =>
              `${s.id}=${(total / ((syncsAfter[i] as number) - (syncsBefore[i] as number))).toFixed(1)}`,
          )
          .join(' ')}`,
      );
    }

    if (phases.has('lock')) {
      inner.length = 0;
      const lock: number[] = [];
      for (let i = 0; i < Math.min(n, 200); i++) {
        const s = performance.now();
        const l = await client.lock('solo');
        await l.release();
        lock.push(performance.now() - s);
      }
      out.lock = lock;
      console.log(fmt('lock acquire+release', lock));
      console.log(fmt('  proposals inside locks', inner.splice(0)));
    }

    if (phases.has('contended')) {
      const workers = await Promise.all(Array.from({ length: 8 }, () => connect({ endpoints })));
      const acq = 300;
      let got = 0;
      const c0 = performance.now();
      await Promise.all(
        workers.map(async (w) => {
          while (got < acq) {
            const l = await w.lock('hot');
            got++;
            await new Promise<void>((r) => setImmediate(r));
            await l.release();
          }
        }),
      );
      const acqs = (got / (performance.now() - c0)) * 1000;
      out.contended = acqs;
      console.log(`lock, 8 workers                ${acqs.toFixed(0)} acq/s`);
      await Promise.all(workers.map((w) => w.close()));
    }

    await client.close();
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(root, { recursive: true, force: true });
  }
  const ji = process.argv.indexOf('--json');
  if (ji >= 0) writeFileSync(process.argv[ji + 1] as string, JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
