/**
 * Outbound TLS: what the dialing side checks.
 * - A peer whose server certificate comes from an untrusted CA fails verification with
 *   UNABLE_TO_VERIFY_LEAF_SIGNATURE: the refusal is counted and logged as `tls`.
 * - With requirePeerIdInCertificate, the certificate of the node that answers must name the member
 *   id it was dialed as: a member holding b's certificate cannot answer as c.
 * - Only whole `DNS:` entries of the subject alternative names count: a certificate for 'mallory'
 *   with URI:spiffe://c1/DNS:b does not name member 'b'.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTcpNetwork,
  encodeAck,
  encodeFrame,
  FrameDecoder,
  type TcpNetwork,
  type TransportTlsOptions,
} from '../../runtime/transport/index.js';
import { type CertDir, createCertDir, OPENSSL } from '../helpers/certs.js';
import { until } from '../helpers/until.js';
import { FAST_LIMITS, waitForEvent } from './helpers.js';

let certDir: CertDir | undefined;

function node(id: string, t: TransportTlsOptions, peers: Record<string, string>): TcpNetwork {
  return createTcpNetwork({
    nodeId: id,
    clusterId: 'c1',
    listen: { host: '127.0.0.1', port: 0 },
    peers,
    limits: { ...FAST_LIMITS, reconnectBaseMs: 200, reconnectMaxMs: 400 },
    tls: t,
  });
}

describe.skipIf(!OPENSSL)('outbound TLS', () => {
  let certs: Record<string, TransportTlsOptions> = {};
  beforeAll(() => {
    certDir = createCertDir();
    certDir.makeCa('ca');
    certDir.makeCa('rogue-ca');
    certs = { a: certDir.makeCert('a', 'ca'), b: certDir.makeCert('b', 'ca') };
    certs.rogue = { ...certDir.makeCert('rogue', 'rogue-ca'), ca: certs.a!.ca };
  });
  afterAll(() => certDir?.remove());

  it('dialing a peer whose certificate is from an untrusted CA counts a tls refusal', async () => {
    const rogue = node('r', certs.rogue!, {});
    const port = (await rogue.start()).port;
    const a = node('a', certs.a!, { r: `127.0.0.1:${port}` });
    const errors: string[] = [];
    try {
      a.onEvent((e) => {
        if (e.type === 'handshake-rejected') errors.push(`${e.direction}:${e.reason}`);
      });
      a.send('r', Buffer.from('hello'));
      // The refused dial is retried (reconnect with backoff).
      await until('a second dial', () => a.metrics().connectionsOpened > 1);
      expect(a.metrics().peers.r?.connected).toBe(false);
      expect(errors).toContain('outbound:tls');
      expect(a.metrics().rejectedByReason.tls ?? 0).toBeGreaterThan(0);
    } finally {
      await a.close();
      await rogue.close();
    }
  });

  it("requirePeerIdInCertificate: a member holding b's certificate cannot answer as member c", async () => {
    // An impostor with a valid cluster certificate for 'b' listens where a expects 'c', and ACKs as 'c'.
    const server = tls.createServer({ ...certs.b!, requestCert: true, rejectUnauthorized: true }, (s) => {
      const d = new FrameDecoder(1024);
      s.on('error', () => {});
      s.on('data', (chunk) => {
        if (d.push(chunk).length > 0)
          s.write(encodeFrame(encodeAck({ rejected: null, clusterId: 'c1', responderId: 'c', message: '' })));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const a = node('a', { ...certs.a!, requirePeerIdInCertificate: true }, { c: `127.0.0.1:${port}` });
    try {
      const outcome = waitForEvent(
        a,
        (e) =>
          e?.type === 'peer-connected' && e.peer === 'c'
            ? 'connected to impostor'
            : e?.type === 'handshake-rejected' && e.direction === 'outbound'
              ? `refused: ${e.reason}`
              : undefined,
        'outcome',
      );
      a.send('c', Buffer.from('vote for me'));
      expect(await outcome).toBe('refused: tls');
    } finally {
      await a.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("requirePeerIdInCertificate: 'DNS:b' inside a URI SAN does not name member b", async () => {
    const dir = certDir!.dir;
    const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    ossl('req', ...ec, '-keyout', 'm.key', '-out', 'm.csr', '-subj', '/CN=mallory');
    writeFileSync(
      join(dir, 'm.ext'),
      'subjectAltName=IP:127.0.0.1,URI:spiffe://c1/DNS:b\nextendedKeyUsage=serverAuth,clientAuth\n',
    );
    ossl(
      'x509',
      '-req',
      '-in',
      'm.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'm.crt',
      '-days',
      '1',
      '-extfile',
      'm.ext',
    );
    const mallory: TransportTlsOptions = {
      key: readFileSync(join(dir, 'm.key')),
      cert: readFileSync(join(dir, 'm.crt')),
      ca: certs.a!.ca,
    };
    const strict = node('s', { ...certs.a!, requirePeerIdInCertificate: true }, {});
    const port = (await strict.start()).port;
    strict.setPeers({ s: `127.0.0.1:${port}`, b: '127.0.0.1:1' });
    const impostor = node('b', mallory, { s: `127.0.0.1:${port}` });
    try {
      const outcome = waitForEvent(
        strict,
        (e) =>
          e?.type === 'peer-connected' && e.direction === 'inbound'
            ? `accepted as ${e.peer}`
            : e?.type === 'handshake-rejected'
              ? `refused: ${e.reason}`
              : undefined,
        'outcome',
      );
      impostor.send('s', Buffer.from('x'));
      expect(await outcome).toBe('refused: tls');
    } finally {
      await impostor.close();
      await strict.close();
    }
  });
});
