/**
 * `consensus serve` and the client verbs over mutual TLS (certificates made with openssl; skipped,
 * saying why, when openssl is missing).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CertDir, createCertDir, OPENSSL } from '../helpers/certs.js';
import { freePorts } from '../server/helpers.js';
import {
  ensureBuilt,
  runCli,
  runServeExpectingExit,
  type ServeProc,
  spawnServe,
  spawnServeCluster,
} from '../server/proc.js';

describe.skipIf(!OPENSSL)(
  `consensus over mutual TLS${OPENSSL ? '' : ' (skipped: openssl not found)'}`,
  () => {
    let certs: CertDir;
    let root = '';
    let procs: ServeProc[] = [];
    let eps = '';
    const tlsFlags = (name: string, ca = 'ca') => [
      '--tls-cert',
      join(certs.dir, `${name}.crt`),
      '--tls-key',
      join(certs.dir, `${name}.key`),
      '--tls-ca',
      join(certs.dir, `${ca}.crt`),
    ];

    beforeAll(async () => {
      ensureBuilt();
      certs = createCertDir();
      certs.makeCa('ca');
      certs.makeCa('other-ca');
      for (const n of ['n0', 'n1', 'n2', 'client']) certs.makeCert(n, 'ca');
      certs.makeCert('stranger', 'other-ca');
      root = mkdtempSync(join(tmpdir(), 'vibee-cli-tls-'));
      ({ procs, eps } = await spawnServeCluster(root, 3, (i) => [
        ...tlsFlags(`n${i}`),
        '--tls-require-peer-id',
      ]));
    }, 120_000);

    afterAll(() => {
      for (const p of procs) p.proc.kill('SIGKILL');
      if (root) rmSync(root, { recursive: true, force: true });
      certs?.remove();
    });

    it('members elect a leader and replicate over TLS; a client with a certificate from the CA works', async () => {
      const put = await runCli(['put', 'k', 'secure', '--endpoints', eps, ...tlsFlags('client')], 30_000);
      expect(put.code).toBe(0);
      const get = await runCli(['get', 'k', '--endpoints', eps, '--json', ...tlsFlags('client')]);
      expect(get.code).toBe(0);
      expect(get.stdout).toContain('secure');
    });

    it('a client without TLS, or with a certificate from another CA, reaches no member (exit 3)', async () => {
      const plain = await runCli(['get', 'k', '--endpoints', eps, '--timeout', '1500']);
      expect(plain.code).toBe(3);
      const stranger = await runCli([
        'get',
        'k',
        '--endpoints',
        eps,
        '--timeout',
        '1500',
        ...tlsFlags('stranger', 'other-ca'),
      ]);
      expect(stranger.code).toBe(3);
    });

    it('bad TLS flags exit 2 naming the flag', async () => {
      const partial = await runCli([
        'get',
        'k',
        '--endpoints',
        eps,
        '--tls-cert',
        join(certs.dir, 'client.crt'),
      ]);
      expect(partial.code).toBe(2);
      expect(partial.stderr).toMatch(/--tls-cert: TLS needs --tls-cert, --tls-key and --tls-ca together/);
      const missing = await runCli([
        'get',
        'k',
        '--endpoints',
        eps,
        '--tls-cert',
        '/no/such.crt',
        '--tls-key',
        join(certs.dir, 'client.key'),
        '--tls-ca',
        join(certs.dir, 'ca.crt'),
      ]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--tls-cert: cannot read \/no\/such\.crt: ENOENT/);
      const requireOnly = await runServeExpectingExit(root, '--tls-require-peer-id');
      expect(requireOnly.code).toBe(2);
      expect(requireOnly.stderr).toMatch(/--tls-require-peer-id: needs --tls-cert/);
    });

    it('unusable TLS files are refused at start-up (exit 2), naming the flag and the file', async () => {
      const junk = join(root, 'junk.pem');
      writeFileSync(junk, 'not a certificate\n');
      const serveWith = (cert: string, key: string, ca: string, ...extra: string[]) =>
        runServeExpectingExit(
          join(root, 'bad-tls'),
          '--tls-cert',
          cert,
          '--tls-key',
          key,
          '--tls-ca',
          ca,
          ...extra,
        );
      const file = (n: string) => join(certs.dir, n);
      const cases: [Promise<{ code: number; stderr: string }>, RegExp][] = [
        // Before: a junk CA started a member that then refused every handshake.
        [
          serveWith(file('n0.crt'), file('n0.key'), junk),
          /--tls-ca: \S*junk\.pem: the CA file holds no PEM certificate/,
        ],
        // Before: raw OpenSSL text, exit 1.
        [
          serveWith(junk, file('n0.key'), file('ca.crt')),
          /--tls-cert: \S*junk\.pem: the certificate is not a PEM certificate/,
        ],
        [
          serveWith(file('n0.crt'), junk, file('ca.crt')),
          /--tls-key: \S*junk\.pem: the key is not a PEM private key/,
        ],
        [
          serveWith(file('n0.crt'), file('n1.key'), file('ca.crt')),
          /--tls-key: \S*n1\.key: the key does not belong/,
        ],
        [
          serveWith(file('n0.crt'), file('n0.key'), file('ca.crt'), '--tls-require-peer-id'),
          /--tls-cert: \S*n0\.crt: the certificate names n0.*not this member 'x'/,
        ],
      ];
      for (const [run, message] of cases) {
        const r = await run;
        expect({ code: r.code, message: message.test(r.stderr) }, r.stderr).toEqual({
          code: 2,
          message: true,
        });
      }
    });

    it('SIGHUP reloads rotated certificate files: new connections use them; unusable files are refused and the old ones stay', async () => {
      const logged = async (p: ServeProc, from: number, text: string) => {
        const deadline = Date.now() + 10_000;
        while (!p.stderr().slice(from).includes(text)) {
          if (Date.now() > deadline)
            throw new Error(`${p.id} never logged '${text}':\n${p.stderr().slice(from)}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const file = (n: string) => join(certs.dir, n);
      // A member of its own, with files of its own: rotating them touches no other test.
      certs.makeCert('solo', 'ca');
      writeFileSync(file('solo-ca.crt'), readFileSync(file('ca.crt')));
      const [port] = await freePorts(1);
      const solo = await spawnServe('solo', [
        '--listen',
        `127.0.0.1:${port}`,
        '--peers',
        `solo=127.0.0.1:${port}`,
        '--data',
        join(root, 'solo'),
        '--log-level',
        'info',
        ...tlsFlags('solo', 'solo-ca'),
        '--tls-require-peer-id',
      ]);
      const ep = `127.0.0.1:${port}`;
      try {
        expect(
          (await runCli(['put', 'k', 'v1', '--endpoints', ep, ...tlsFlags('client')], 30_000)).code,
        ).toBe(0);
        // Rotate in place: a certificate from a new CA, and a CA file that trusts both (clients
        // move over one by one).
        certs.makeCa('ca2');
        certs.makeCert('solo', 'ca2');
        certs.makeCert('client2', 'ca2');
        writeFileSync(
          file('solo-ca.crt'),
          Buffer.concat([readFileSync(file('ca.crt')), readFileSync(file('ca2.crt'))]),
        );
        let mark = solo.stderr().length;
        solo.proc.kill('SIGHUP');
        await logged(solo, mark, 'TLS certificate reloaded');
        expect(solo.proc.exitCode).toBeNull();
        // A client that trusts only the old CA refuses the member's new certificate...
        expect((await runCli(['get', 'k', '--endpoints', ep, ...tlsFlags('client')])).code).toBe(3);
        // ...a client of the new CA is served (and the old client certificate is still trusted).
        expect(
          (await runCli(['put', 'k', 'v2', '--endpoints', ep, ...tlsFlags('client2', 'ca2')])).code,
        ).toBe(0);
        // A key file that is not a key: refused, logged, and the member keeps the rotated material.
        writeFileSync(file('solo.key'), 'not a key\n');
        mark = solo.stderr().length;
        solo.proc.kill('SIGHUP');
        await logged(solo, mark, 'TLS reload failed');
        expect(solo.proc.exitCode).toBeNull();
        const status = await runCli(['status', '--endpoints', ep, '--json', ...tlsFlags('client2', 'ca2')]);
        expect(status.code).toBe(0);
      } finally {
        solo.proc.kill('SIGKILL');
        await solo.exited;
      }
    }, 60_000);
  },
);
