/**
 * Crash semantics of the simulated disk against CONTRACT.md's env.fs description ("A crash keeps
 * exactly what was durable (the last unsynced write may survive torn)"): data a completed sync
 * made durable is never torn afterwards, even when a truncate came between the sync's capture and
 * its completion.
 */
import { describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.js';

const enc = new TextEncoder();
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

describe('SimDisk crash semantics', () => {
  it('a crash never zero-fills data that a completed sync made durable (truncate between sync call and completion)', async () => {
    // Torn writes always survive, always with a zero-filled tail: makes the bad outcome certain.
    const world = createWorld({ seed: 7, disk: { tornWriteProbability: 1, zeroFillProbability: 1 } });
    let fs = world.createEnv('a').fs;
    await fs.write('f', 0, enc.encode('hello world'));
    await fs.syncDir('');
    const s = fs.sync('f'); // captures 'hello world'
    const t = fs.truncate('f', 11); // a no-op truncate (same size) before the sync completes
    await s;
    await t;
    // The sync completed: 'hello world' is durable, and nothing written since.
    world.crash('a');
    fs = world.restart('a').fs;
    expect(dec(await fs.readFile('f'))).toBe('hello world');
  });

  it('sanity: unsynced creation is lost, synced data + syncDir survives, last unsynced write may be torn', async () => {
    const world = createWorld({ seed: 3, disk: { tornWriteProbability: 0 } });
    let fs = world.createEnv('a').fs;
    await fs.write('a', 0, enc.encode('A'));
    await fs.sync('a'); // data durable but entry not
    await fs.write('b', 0, enc.encode('B'));
    await fs.syncDir(''); // entry durable, data not
    await fs.write('c', 0, enc.encode('C'));
    await fs.sync('c');
    await fs.syncDir('');
    await fs.rename('c', 'd'); // rename not synced
    world.crash('a');
    fs = world.restart('a').fs;
    expect(await fs.list('')).toEqual(['a', 'b', 'c']);
    expect(dec(await fs.readFile('a'))).toBe('A');
    expect(dec(await fs.readFile('b'))).toBe('');
    expect(dec(await fs.readFile('c'))).toBe('C');
  });
});
