import { describe, expect, it } from 'vitest';
import {
  FlagError,
  formatHostPort,
  parseEndpoints,
  parseFraction,
  parseHostPort,
  parseIntFlag,
  parsePeers,
} from '../../runtime/cli/flags.js';

describe('consensus flags', () => {
  it('parses HOST:PORT including IPv6 and port 0', () => {
    expect(parseHostPort('--listen', '127.0.0.1:7001')).toEqual({ host: '127.0.0.1', port: 7001 });
    expect(parseHostPort('--listen', '[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(formatHostPort({ host: '::1', port: 5 })).toBe('[::1]:5');
  });

  it.each([
    ['7001', 'expected HOST:PORT'],
    ['host:', 'expected HOST:PORT'],
    ['host:70000', 'port must be 0..65535, got 70000'],
    ['a b:1', 'expected HOST:PORT'],
  ])('rejects --listen %s with a message naming the flag', (value, message) => {
    expect(() => parseHostPort('--listen', value)).toThrow(FlagError);
    expect(() => parseHostPort('--listen', value)).toThrow(`--listen: ${message}`);
  });

  it('parses a peer list and rejects duplicates, bad ids and missing addresses', () => {
    const peers = parsePeers('--peers', 'n1=127.0.0.1:7001, n2=127.0.0.1:7002');
    expect([...peers.keys()]).toEqual(['n1', 'n2']);
    expect(peers.get('n2')).toEqual({ host: '127.0.0.1', port: 7002 });
    expect(() => parsePeers('--peers', 'n1=127.0.0.1:1,n1=127.0.0.1:2')).toThrow(
      '--peers: peer n1 is listed twice',
    );
    expect(() => parsePeers('--peers', '-x=127.0.0.1:1')).toThrow('node id must be');
    expect(() => parsePeers('--peers', 'n1')).toThrow('expected ID=HOST:PORT, got "n1"');
  });

  it('parses endpoints, integers and fractions with clear errors', () => {
    expect(parseEndpoints('--endpoints', '127.0.0.1:1,127.0.0.1:2')).toHaveLength(2);
    expect(() => parseEndpoints('--endpoints', ' , ')).toThrow(
      '--endpoints: expected at least one HOST:PORT',
    );
    expect(parseIntFlag('--ttl', '5000', 1, 60_000)).toBe(5000);
    expect(() => parseIntFlag('--ttl', '-1', 1, 10)).toThrow('expected a whole number, got "-1"');
    expect(() => parseIntFlag('--ttl', '0', 1, 10)).toThrow('must be between 1 and 10, got 0');
    expect(parseFraction('--threshold', '0.75')).toBe(0.75);
    expect(() => parseFraction('--threshold', '1.5')).toThrow('must be a number in (0, 1], got "1.5"');
    expect(() => parseFraction('--threshold', '0')).toThrow('(0, 1]');
  });
});
