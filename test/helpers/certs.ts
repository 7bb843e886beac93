/**
 * Test certificates made with openssl into a temp dir (a CA, then member/client certificates with
 * CN = name and SAN IP:127.0.0.1, DNS:localhost). Used by the transport TLS tests and the CLI's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TransportTlsOptions } from '../../runtime/transport/index.js';

/** Whether openssl is on PATH (the TLS tests are skipped, saying why, when it is not). */
export const OPENSSL: boolean = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** A directory of generated certificates. */
export interface CertDir {
  readonly dir: string;
  /** Creates a self-signed CA `name` (files `name.key`, `name.crt`). */
  makeCa(name: string): void;
  /** Creates `name.key` / `name.crt` signed by CA `ca`; returns the TLS options (PEM contents). */
  makeCert(name: string, ca: string): TransportTlsOptions;
  remove(): void;
}

/** A fresh temp dir for certificates. */
export function createCertDir(): CertDir {
  const dir = mkdtempSync(join(tmpdir(), 'vibee-tls-'));
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  return {
    dir,
    makeCa(name) {
      ossl(
        'req',
        '-x509',
        ...ec,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '1',
        '-subj',
        `/CN=${name}`,
      );
    },
    makeCert(name, ca) {
      ossl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      writeFileSync(
        join(dir, `${name}.ext`),
        'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
      );
      ossl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${ca}.crt`,
        '-CAkey',
        `${ca}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      );
      return {
        key: readFileSync(join(dir, `${name}.key`)),
        cert: readFileSync(join(dir, `${name}.crt`)),
        ca: readFileSync(join(dir, `${ca}.crt`)),
      };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
