/**
 * A frame that passes the framing (a sane length) but not the decoder: the member closes that
 * connection, counts it, and keeps serving everyone else (issue 5: "a malformed frame closes that
 * connection and counts a metric, the node keeps serving").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeClientMessage } from '../../generated/codecs.js';
import { type Client, connect } from '../../runtime/client/client.js';
import { encodeFrame, FrameDecoder } from '../../runtime/transport/index.js';
import { helloFrame, rawSocket } from '../transport/helpers.js';
import { startTestCluster, type TestCluster } from './helpers.js';

let c: TestCluster;
let client: Client;

beforeAll(async () => {
  c = await startTestCluster(3);
  await c.leader();
  client = await connect({ endpoints: c.endpoints, timeoutMs: 5000 });
  await client.put('before', 'x');
});

afterAll(async () => {
  await client?.close();
  await c?.close();
});

/** Frames after the handshake ACK that the member sent on a raw socket. */
function framesAfterAck(bytes: Buffer): Uint8Array[] {
  const d = new FrameDecoder(1 << 20);
  d.append(bytes);
  const frames: Uint8Array[] = [];
  for (let f = d.next(); f !== null; f = d.next()) frames.push(f);
  return frames.slice(1);
}

describe('malformed frames after a valid handshake', () => {
  it('an undecodable Raft message from a peer closes that connection; the cluster keeps committing', async () => {
    const target = c.servers[0]!;
    const before = {
      malformed: target.network.metrics().malformedFrames,
      dropped: target.node.status().framesDropped,
    };
    const s = await rawSocket(c.ports[0]!);
    s.socket.write(helloFrame({ clusterId: 'vibee', senderId: c.ids[1], receiverId: c.ids[0] }));
    s.socket.write(encodeFrame(Buffer.from([0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee])));
    await s.closed;
    expect(target.network.metrics().malformedFrames).toBe(before.malformed + 1);
    expect(target.node.status().framesDropped).toBe(before.dropped + 1);
    await client.put('after-peer-junk', 'y');
    const { value } = await client.get('after-peer-junk', { consistency: 'linearizable' });
    expect(new TextDecoder().decode(value ?? new Uint8Array())).toBe('y');
  });

  it('an undecodable client request is answered DECODE_ERROR, then its connection is closed', async () => {
    const target = c.servers[0]!;
    const before = target.network.metrics().malformedFrames;
    const s = await rawSocket(c.ports[0]!);
    s.socket.write(helloFrame({ clusterId: 'vibee', senderId: 'raw-client', kind: 'client' }));
    // The client envelope: a 4-byte request id, then a body that is no ClientMessage.
    s.socket.write(encodeFrame(Buffer.from([0, 0, 0, 7, 0xee, 0xee, 0xee, 0xee])));
    await s.closed;
    const replies = framesAfterAck(s.received());
    expect(replies).toHaveLength(1);
    const reply = decodeClientMessage((replies[0] as Uint8Array).subarray(4));
    expect(reply).toMatchObject({ type: 'ClientResponse', errorCode: 'DECODE_ERROR' });
    expect(target.network.metrics().malformedFrames).toBe(before + 1);
    await client.put('after-client-junk', 'z');
  });
});
