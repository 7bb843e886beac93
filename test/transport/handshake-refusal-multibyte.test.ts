/**
 * A refusal quotes ids the remote sent. ACK strings are limited to 255 UTF-8 bytes; cutting the
 * message by UTF-16 units let multibyte ids overflow it, and encodeAck threw from the socket's
 * 'data' handler: one unauthenticated HELLO crashed the process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTcpNetwork, decodeAck, FrameDecoder, type TcpNetwork } from '../../runtime/transport/index.js';
import { FAST_LIMITS, helloFrame, rawSocket } from './helpers.js';

describe('refusal ACK with a multibyte message', () => {
  let net1: TcpNetwork | undefined;
  afterEach(async () => {
    await net1?.close();
  });

  it('a client HELLO for another cluster with a CJK cluster id is refused with an ACK, not an exception', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      net1 = createTcpNetwork({
        nodeId: 'a',
        clusterId: 'c1',
        listen: { host: '127.0.0.1', port: 0 },
        peers: {},
        limits: FAST_LIMITS,
      });
      const { port } = await net1.start();
      const raw = await rawSocket(port);
      // 85 x 3-byte character = 255 UTF-8 bytes: a valid id, but the refusal message quoting it is not.
      raw.socket.write(helloFrame({ kind: 'client', clusterId: '中'.repeat(85), senderId: 'x' }));
      const closedInTime = await Promise.race([
        raw.closed.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 1500)),
      ]);
      raw.socket.destroy();
      expect(uncaught.map(String)).toEqual([]);
      expect(closedInTime).toBe(true);
      const frames = new FrameDecoder().push(raw.received());
      expect(frames.length).toBe(1);
      expect(decodeAck(frames[0]!).rejected).toBe('cluster');
      expect(net1.metrics().rejectedByReason.cluster).toBe(1);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
