import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeAck,
  decodeHello,
  encodeAck,
  encodeHello,
  PROTOCOL_VERSION,
  TransportError,
} from '../../runtime/transport/index.js';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TransportError);
    return (e as TransportError).reason;
  }
  return 'no error';
}

describe('handshake codec', () => {
  it('round-trips HELLO and ACK', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('peer' as const, 'client' as const),
        fc.string({ maxLength: 40 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ maxLength: 40 }),
        (kind, clusterId, senderId, receiverId) => {
          const h = decodeHello(encodeHello({ kind, clusterId, senderId, receiverId }));
          expect(h).toEqual({ version: PROTOCOL_VERSION, kind, clusterId, senderId, receiverId });
        },
      ),
    );
    const ack = decodeAck(
      encodeAck({ rejected: 'cluster', clusterId: 'c', responderId: 'n1', message: 'no' }),
    );
    expect(ack).toEqual({
      version: PROTOCOL_VERSION,
      rejected: 'cluster',
      clusterId: 'c',
      responderId: 'n1',
      message: 'no',
    });
    expect(
      decodeAck(encodeAck({ rejected: null, clusterId: 'c', responderId: 'n', message: '' })).rejected,
    ).toBeNull();
  });

  it('names the reason for a foreign version, a bad magic and damage', () => {
    const good = encodeHello({ kind: 'peer', clusterId: 'c', senderId: 'a', receiverId: 'b' });
    expect(
      reasonOf(() =>
        decodeHello(encodeHello({ kind: 'peer', clusterId: 'c', senderId: 'a', receiverId: '', version: 2 })),
      ),
    ).toBe('version');
    const badMagic = Buffer.from(good);
    badMagic[0] = 0x58;
    expect(reasonOf(() => decodeHello(badMagic))).toBe('bad-magic');
    expect(reasonOf(() => decodeHello(Buffer.concat([good, Buffer.of(0)])))).toBe('malformed');
    const badKind = Buffer.from(good);
    badKind[6] = 9;
    expect(reasonOf(() => decodeHello(badKind))).toBe('kind');
    expect(
      reasonOf(() =>
        decodeHello(encodeHello({ kind: 'peer', clusterId: 'c', senderId: '', receiverId: '' })),
      ),
    ).toBe('malformed');
    // Invalid UTF-8 in an id.
    const utf = Buffer.from(encodeHello({ kind: 'peer', clusterId: 'c', senderId: 'ab', receiverId: '' }));
    utf[utf.length - 3] = 0xff;
    expect(reasonOf(() => decodeHello(utf))).toBe('malformed');
    // Every truncation fails with a typed error.
    for (let n = 0; n < good.length; n++)
      expect(reasonOf(() => decodeHello(good.subarray(0, n)))).not.toBe('no error');
  });

  it('only ever throws TransportError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, magic) => {
        const input = magic ? Buffer.concat([Buffer.from('VBCN'), bytes]) : Buffer.from(bytes);
        for (const fn of [() => decodeHello(input), () => decodeAck(input)]) {
          try {
            fn();
          } catch (e) {
            expect(e).toBeInstanceOf(TransportError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
