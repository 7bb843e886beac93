import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimDataDir, DataDirError } from '../../runtime/server/data-dir.js';

describe('claimDataDir: a data directory belongs to one member and one process', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vibee-datadir-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records the member on first start and accepts the same member again after release', () => {
    const release = claimDataDir(dir, 'a', 'c1');
    expect(JSON.parse(readFileSync(join(dir, 'member.json'), 'utf8'))).toEqual({ id: 'a', clusterId: 'c1' });
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(process.pid));
    release();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
    claimDataDir(dir, 'a', 'c1')();
  });

  it('an I/O error on the lock or member.json names the file (it reached the CLI as a bare "EIO: i/o error, write")', () => {
    mkdirSync(join(dir, 'LOCK')); // reading it fails (EISDIR) the way a failing disk would
    expect(() => claimDataDir(dir, 'a', 'c1')).toThrow(
      new RegExp(`^cannot take the lock ${join(dir, 'LOCK')}: EISDIR`),
    );
    rmSync(join(dir, 'LOCK'), { recursive: true });
    mkdirSync(join(dir, 'member.json.tmp')); // its temp file cannot be written
    expect(() => claimDataDir(dir, 'a', 'c1')).toThrow(
      new RegExp(`^cannot write ${join(dir, 'member.json')}: EISDIR`),
    );
    expect(() => claimDataDir(dir, 'a', 'c1')).toThrow(DataDirError);
  });

  it('refuses another member or another cluster, naming the owner', () => {
    claimDataDir(dir, 'a', 'c1')();
    expect(() => claimDataDir(dir, 'b', 'c1')).toThrow(/member 'a' of cluster 'c1', not 'b' of 'c1'/);
    expect(() => claimDataDir(dir, 'a', 'c2')).toThrow(DataDirError);
    expect(existsSync(join(dir, 'LOCK'))).toBe(false); // a refusal takes no lock
  });

  it('refuses a second claim while the first holds it, in this process or a live other one', async () => {
    const release = claimDataDir(dir, 'a', 'c1');
    expect(() => claimDataDir(dir, 'a', 'c1')).toThrow(/in use by process/);
    release();
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      writeFileSync(join(dir, 'LOCK'), `${other.pid}\n`);
      expect(() => claimDataDir(dir, 'a', 'c1')).toThrow(new RegExp(`in use by process ${other.pid}`));
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
    // That process is gone (as after kill -9): its lock is taken over.
    claimDataDir(dir, 'a', 'c1')();
  });

  it('refuses a damaged member.json instead of guessing', () => {
    writeFileSync(join(dir, 'member.json'), '{"id":');
    expect(() => claimDataDir(dir, 'a', 'c1')).toThrow(/member\.json is damaged/);
  });
});
