/**
 * Mutual TLS: certificates are generated with openssl at test time into a temp dir. Skipped (with
 * the reason in the test name) only when openssl is not installed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTcpClientConnection,
  createTcpNetwork,
  type TcpNetwork,
  type TransportError,
  type TransportTlsOptions,
} from '../../runtime/transport/index.js';
import { type CertDir, createCertDir, OPENSSL } from '../helpers/certs.js';
import { FAST_LIMITS, helloFrame, Inbox, rawSocket, waitForEvent } from './helpers.js';

let certDir: CertDir | undefined;
const makeCa = (name: string) => certDir?.makeCa(name);
const makeCert = (name: string, ca: string) => (certDir as CertDir).makeCert(name, ca);

function node(
  id: string,
  tls: TransportTlsOptions | undefined,
  peers: Record<string, string> = {},
): TcpNetwork {
  return createTcpNetwork({
    nodeId: id,
    clusterId: 'c1',
    listen: { host: '127.0.0.1', port: 0 },
    peers,
    limits: FAST_LIMITS,
    ...(tls ? { tls } : {}),
  });
}

describe.skipIf(!OPENSSL)(`mutual TLS${OPENSSL ? '' : ' (skipped: openssl not found on PATH)'}`, () => {
  let certs: Record<string, TransportTlsOptions> = {};
  let a: TcpNetwork;
  let b: TcpNetwork;
  let portA = 0;

  beforeAll(async () => {
    certDir = createCertDir();
    makeCa('ca');
    makeCa('rogue-ca');
    certs = { a: makeCert('a', 'ca'), b: makeCert('b', 'ca'), client: makeCert('client', 'ca') };
    // A certificate from a CA the cluster does not trust, but which itself trusts the cluster CA.
    certs.rogue = { ...makeCert('rogue', 'rogue-ca'), ca: certs.a!.ca };
    a = node('a', certs.a);
    b = node('b', certs.b);
    portA = (await a.start()).port;
    const portB = (await b.start()).port;
    const map = { a: `127.0.0.1:${portA}`, b: `127.0.0.1:${portB}` };
    a.setPeers(map);
    b.setPeers(map);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    certDir?.remove();
  });

  it('members with certificates from the cluster CA exchange frames both ways', async () => {
    const ia = new Inbox(a);
    const ib = new Inbox(b);
    a.send('b', Buffer.from('hello b'));
    b.send('a', Buffer.from('hello a'));
    await ib.until(() => ib.frames.length === 1, 'b receives');
    await ia.until(() => ia.frames.length === 1, 'a receives');
    expect(ib.texts('a')).toEqual(['hello b']);
    expect(ia.texts('b')).toEqual(['hello a']);
  });

  it('refuses a peer whose certificate is not signed by the cluster CA', async () => {
    const inbox = new Inbox(a);
    const rogue = node('r', certs.rogue, { a: `127.0.0.1:${portA}` });
    await rogue.start();
    const refusedByA = waitForEvent(
      a,
      (e) => (e?.type === 'handshake-rejected' ? e.reason : undefined),
      'a refuses',
    );
    const refusedOwnSide = waitForEvent(
      rogue,
      (e) => (e?.type === 'handshake-rejected' ? e.reason : undefined),
      'rogue sees the refusal',
    );
    rogue.send('a', Buffer.from('let me in'));
    expect(await refusedByA).toBe('tls');
    expect(await refusedOwnSide).toBe('tls');
    expect(rogue.metrics().framesOut).toBe(0);
    await rogue.close();
    expect(inbox.frames.filter((f) => f.from === 'r')).toEqual([]);
  });

  it('refuses a peer with no certificate and a plain-TCP peer', async () => {
    const before = a.metrics().rejectedByReason.tls ?? 0;
    const refused = waitForEvent(
      a,
      (e) => (e?.type === 'handshake-rejected' ? e.reason : undefined),
      'no cert',
    );
    // Without key/cert node:tls connects as an anonymous client; the server demands a certificate.
    const anon = createTcpNetwork({
      nodeId: 'n',
      clusterId: 'c1',
      listen: { host: '127.0.0.1', port: 0 },
      peers: { a: `127.0.0.1:${portA}` },
      limits: FAST_LIMITS,
      tls: { ca: certs.a!.ca } as TransportTlsOptions,
    });
    anon.send('a', Buffer.from('anonymous'));
    expect(await refused).toBe('tls');
    await anon.close();
    const plain = await rawSocket(portA);
    plain.socket.write(helloFrame({ senderId: 'plain' }));
    await plain.closed;
    expect((a.metrics().rejectedByReason.tls ?? 0) - before).toBeGreaterThanOrEqual(2);
  });

  it('requirePeerIdInCertificate: a member certificate claiming another member id is refused, the right one accepted', async () => {
    const strict = node('s', { ...makeCert('s', 'ca'), requirePeerIdInCertificate: true });
    const portS = (await strict.start()).port;
    // 'x' is a member strict knows, but the impostor dialing as 'x' holds b's certificate.
    const honest = node('b', certs.b, { s: `127.0.0.1:${portS}` });
    const impostor = node('x', certs.b, { s: `127.0.0.1:${portS}` });
    strict.setPeers({ s: `127.0.0.1:${portS}`, b: '127.0.0.1:1', x: '127.0.0.1:1' });
    await Promise.all([honest.start(), impostor.start()]);
    try {
      const inbox = new Inbox(strict);
      const refused = waitForEvent(
        strict,
        (e) => (e?.type === 'handshake-rejected' ? `${e.reason}: ${e.message}` : undefined),
        'strict refuses the impostor',
      );
      impostor.send('s', Buffer.from('from x'));
      expect(await refused).toMatch(/^tls: peer claims id 'x' but its certificate names b/);
      honest.send('s', Buffer.from('from b'));
      await inbox.until(() => inbox.frames.length === 1, 'strict receives from b');
      expect(inbox.texts('b')).toEqual(['from b']);
      expect(inbox.texts('x')).toEqual([]);
    } finally {
      await Promise.all([strict.close(), honest.close(), impostor.close()]);
    }
  });

  it('a trusted certificate does not bypass the cluster check; the refusal is counted once', async () => {
    const w = createTcpNetwork({
      nodeId: 'w',
      clusterId: 'c2',
      listen: { host: '127.0.0.1', port: 0 },
      peers: { a: `127.0.0.1:${portA}` },
      limits: FAST_LIMITS,
      tls: certs.b!,
    });
    try {
      const refused = waitForEvent(w, (e) => (e?.type === 'connection-closed' ? true : undefined), 'closed');
      w.send('a', Buffer.from('x'));
      await refused;
      expect(w.metrics().rejectedByReason).toEqual({ cluster: 1 });
    } finally {
      await w.close();
    }
  });

  it('close() ends connections stuck in the TLS handshake at once', async () => {
    const t = node('t', certs.a);
    const tp = (await t.start()).port;
    const stuck = await rawSocket(tp); // TCP connected, never starts TLS
    const started = performance.now();
    await t.close();
    await stuck.closed;
    expect(performance.now() - started).toBeLessThan(FAST_LIMITS.handshakeTimeoutMs);
  });

  it('reloadTls: new handshakes use the new certificate, established connections stay, refused material changes nothing', async () => {
    makeCa('ca2');
    const rotated = makeCert('r2', 'ca2');
    const bothCas = [certs.a!.ca as Buffer, rotated.ca as Buffer];
    const r = node('r', certs.a);
    const port = (await r.start()).port;
    r.onClientRequest((_id, frame, reply) => reply(frame));
    const dial = (tls: TransportTlsOptions) =>
      createTcpClientConnection({ endpoint: `127.0.0.1:${port}`, clusterId: 'c1', tls, limits: FAST_LIMITS });
    const echo = async (c: ReturnType<typeof dial>, text: string) =>
      Buffer.from(await c.request(Buffer.from(text), { timeoutMs: 2000 })).toString();
    const refusedByOldTrust = async () => {
      const c = dial(certs.client!);
      try {
        // The client refuses the member's certificate: it is not signed by a CA the client trusts.
        await expect(c.connect()).rejects.toThrow(/certificate|self.signed|verify/i);
      } finally {
        await c.close();
      }
    };
    const refusal = (material: Pick<TransportTlsOptions, 'key' | 'cert' | 'ca'>) => {
      try {
        r.reloadTls(material);
        return undefined;
      } catch (e) {
        return e as TransportError;
      }
    };
    const before = dial(certs.client!);
    const newTrust = dial({ ...certs.client!, ca: bothCas });
    try {
      expect(await echo(before, 'before')).toBe('before');
      r.reloadTls({ key: rotated.key, cert: rotated.cert, ca: bothCas });
      // The connection made before the rotation keeps its session.
      expect(await echo(before, 'still')).toBe('still');
      // A client that trusts only the old CA now refuses the member's new certificate...
      await refusedByOldTrust();
      // ...and one that trusts the new CA is served; its certificate (old CA) is still accepted.
      expect(await echo(newTrust, 'rotated')).toBe('rotated');
      // Refused before anything changes: a key of the same type that is not the certificate's, a
      // key of another type (node:tls alone would take it), and PEM that is not PEM.
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      });
      for (const bad of [
        { key: certs.b!.key, cert: rotated.cert, ca: bothCas },
        { key: rsa, cert: rotated.cert, ca: bothCas },
        { key: rotated.key, cert: 'not a certificate', ca: bothCas },
      ]) {
        const e = refusal(bad);
        expect(e?.code).toBe('tls-config');
      }
      expect(refusal({ key: rsa, cert: rotated.cert, ca: bothCas })?.message).toMatch(/key does not belong/);
      // Still the rotated certificate: old-CA-only clients refused, new-CA clients served.
      await refusedByOldTrust();
      const after = dial({ ...certs.client!, ca: bothCas });
      try {
        expect(await echo(after, 'unchanged')).toBe('unchanged');
      } finally {
        await after.close();
      }
    } finally {
      await Promise.all([before.close(), newTrust.close()]);
      await r.close();
    }
    const plain = node('p', undefined);
    expect(() => plain.reloadTls(certs.a!)).toThrow(/started without TLS/);
    await plain.close();
  });

  it('reloadTls: new outbound connections present the new certificate', async () => {
    makeCa('ca3');
    const fresh = makeCert('x', 'ca3');
    // y accepts only certificates from ca3; x starts with one from the cluster CA.
    const y = node('y', { ...makeCert('y', 'ca'), ca: fresh.ca });
    const portY = (await y.start()).port;
    const x = node('x', certs.a, { y: `127.0.0.1:${portY}` });
    await x.start();
    try {
      const inbox = new Inbox(y);
      const refused = waitForEvent(
        y,
        (e) => (e?.type === 'handshake-rejected' ? e.reason : undefined),
        'y refuses x before the rotation',
      );
      x.send('y', Buffer.from('old certificate'));
      expect(await refused).toBe('tls');
      // x keeps trusting the cluster CA (y's certificate) and now presents one from ca3.
      x.reloadTls({ key: fresh.key, cert: fresh.cert, ca: [certs.a!.ca as Buffer, fresh.ca as Buffer] });
      x.send('y', Buffer.from('new certificate'));
      await inbox.until(() => inbox.texts('x').includes('new certificate'), 'y receives from x');
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });

  it('reloadTls with requirePeerIdInCertificate refuses a certificate that does not name this member', async () => {
    const strict = node('s2', { ...makeCert('s2', 'ca'), requirePeerIdInCertificate: true });
    try {
      const other = makeCert('someone-else', 'ca');
      expect(() => strict.reloadTls(other)).toThrow(
        /the certificate names someone-else, localhost, not this member 's2'/,
      );
      expect(() => strict.reloadTls(makeCert('s2', 'ca'))).not.toThrow();
    } finally {
      await strict.close();
    }
  });

  it('serves TLS clients with a valid certificate', async () => {
    a.onClientRequest((_id, frame, reply) => reply(frame));
    const client = createTcpClientConnection({
      endpoint: `127.0.0.1:${portA}`,
      clusterId: 'c1',
      tls: certs.client,
    });
    try {
      expect(Buffer.from(await client.request(Buffer.from('over tls'))).toString()).toBe('over tls');
    } finally {
      await client.close();
    }
  });
});
