import { expect, it } from 'vitest';
import { openStorage } from '../../runtime/storage/index.js';
import { SimDisk } from '../../sim/fs.js';
import { createPrng } from '../../sim/prng.js';
import { entry, show } from './helpers.js';

it('WAL on the simulator disk survives random crashes', async () => {
  let lost = 0;
  let runs = 0;
  for (let seed = 1; seed <= 150; seed++) {
    const disk = new SimDisk(createPrng(seed), { defer: (_ms, fn) => queueMicrotask(fn) });
    let fs = disk.fileSystem();
    const { storage } = await openStorage(fs, { segmentSize: 4096 });
    let acked = 0;
    let next = 1;
    const rnd = createPrng(`w${seed}`);
    const stopAt = 5 + Math.floor(rnd.float() * 60);
    const inflight: Promise<unknown>[] = [];
    for (let op = 0; op < stopAt; op++) {
      const n = 1 + (op % 5);
      const batch = Array.from({ length: n }, (_, k) => entry(next + k, 1));
      const last = next + n - 1;
      next += n;
      inflight.push(
        storage.wal.save(batch, { term: 1, votedFor: 'a', commit: last }).then(() => {
          acked = Math.max(acked, last);
        }),
      );
      if (op % 3 === 0) await Promise.all(inflight.splice(0));
      if (op === 20)
        await storage.installSnapshot({
          index: acked - 2,
          term: 1,
          configuration: null,
          data: new Uint8Array(3),
        });
    }
    // crash with some writes maybe in flight
    disk.crash();
    fs = disk.fileSystem();
    const { recovered } = await openStorage(fs, { segmentSize: 4096 });
    runs++;
    if (recovered.lastIndex < acked) lost++;
    const base = recovered.snapshot?.index ?? 0;
    expect(show(recovered.entries)).toEqual(
      show(Array.from({ length: recovered.lastIndex - base }, (_, k) => entry(base + 1 + k, 1))),
    );
  }
  expect(lost).toBe(0);
  expect(runs).toBe(150);
});
