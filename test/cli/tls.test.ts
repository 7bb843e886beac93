/**
 * `consensus serve` and the client verbs over mutual TLS (certificates made with openssl; skipped,
 * saying why, when openssl is missing).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CertDir, createCertDir, OPENSSL } from '../helpers/certs.js';
import { ensureBuilt, runCli, type ServeProc, spawnServeCluster } from '../server/proc.js';

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
        '--log-level',
        'info', // the SIGHUP test reads the reload message
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
      const requireOnly = await runCli([
        'serve',
        '--id',
        'x',
        '--listen',
        '127.0.0.1:0',
        '--data',
        root,
        '--tls-require-peer-id',
      ]);
      expect(requireOnly.code).toBe(2);
      expect(requireOnly.stderr).toMatch(/--tls-require-peer-id: needs --tls-cert/);
    });

    // Last: rotates the certificate files the members were started with.
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
      const oldCa = readFileSync(file('ca.crt'));
      writeFileSync(file('ca-old.crt'), oldCa);
      // Rotate in place, at the paths the members were started with: new member certificates from a
      // new CA, and a CA file that trusts both (clients move over one by one).
      certs.makeCa('ca2');
      for (const n of ['n0', 'n1', 'n2']) certs.makeCert(n, 'ca2');
      certs.makeCert('client2', 'ca2');
      writeFileSync(file('ca.crt'), Buffer.concat([oldCa, readFileSync(file('ca2.crt'))]));
      const marks = procs.map((p) => p.stderr().length);
      for (const p of procs) p.proc.kill('SIGHUP');
      await Promise.all(procs.map((p, i) => logged(p, marks[i] as number, 'TLS certificate reloaded')));
      expect(procs.every((p) => p.proc.exitCode === null)).toBe(true);
      // A client that trusts only the old CA refuses the members' new certificates...
      const oldTrust = await runCli(['get', 'k', '--endpoints', eps, ...tlsFlags('client', 'ca-old')]);
      expect(oldTrust.code).toBe(3);
      // ...a client of the new CA is served, and the members still replicate.
      const put = await runCli(
        ['put', 'k2', 'rotated', '--endpoints', eps, ...tlsFlags('client2', 'ca2')],
        30_000,
      );
      expect(put.code).toBe(0);
      // A key file that is not a key: refused, logged, and n0 keeps serving with what it had.
      writeFileSync(file('n0.key'), 'not a key\n');
      const m0 = procs[0]!.stderr().length;
      procs[0]!.proc.kill('SIGHUP');
      await logged(procs[0]!, m0, 'TLS reload failed');
      expect(procs[0]!.proc.exitCode).toBeNull();
      const n0 = eps.split(',')[0] as string;
      const status = await runCli(['status', '--endpoints', n0, '--json', ...tlsFlags('client2', 'ca2')]);
      expect(status.code).toBe(0);
    }, 60_000);
  },
);
