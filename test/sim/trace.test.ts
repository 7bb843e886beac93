import { describe, expect, it } from 'vitest';
import { Fnv64, hashBytes, Trace } from '../../sim/index.js';

describe('Trace', () => {
  it('Fnv64 matches the published FNV-1a 64 test vectors', () => {
    expect(new Fnv64().hex()).toBe('cbf29ce484222325');
    expect(new Fnv64().update('a').hex()).toBe('af63dc4c8601ec8c');
    expect(new Fnv64().update('foobar').hex()).toBe('85944171f73967e8');
  });

  it('hashBytes matches FNV-1a 32', () => {
    expect(hashBytes(new Uint8Array())).toBe('811c9dc5');
    expect(hashBytes(new TextEncoder().encode('a'))).toBe('e40c292c');
  });

  it('hash is a function of the line sequence, order and boundaries included', () => {
    const h = (lines: string[]) => {
      const t = new Trace();
      for (const l of lines) t.record(l);
      return t.hash;
    };
    expect(h(['a', 'b'])).toBe(h(['a', 'b']));
    expect(h(['a', 'b'])).not.toBe(h(['b', 'a']));
    expect(h(['ab'])).not.toBe(h(['a', 'b']));
    expect(h(['é'])).not.toBe(h(['e']));
  });

  it('keeps the last N lines and streams every line', () => {
    const seen: string[] = [];
    const t = new Trace({ keep: 2, onLine: (l) => seen.push(l) });
    for (const l of ['1', '2', '3']) t.record(l);
    expect(t.lines()).toEqual(['2', '3']);
    expect(seen).toEqual(['1', '2', '3']);
    expect(t.count).toBe(3);
  });
});
