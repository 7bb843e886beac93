/**
 * Checks of a member's TLS material (its certificate, key and CA bundle), shared by the start-up
 * (`createTcpNetwork`, `consensus serve`) and the SIGHUP reload, so that bad files are refused with
 * a message that names the part at fault before anything listens, instead of a member that starts
 * and then fails every handshake, or an OpenSSL error that names nothing.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { TransportTlsOptions } from './types.js';

/** Which of the three inputs is at fault (the CLI flag is `--tls-<part>`). */
export type TlsPart = 'cert' | 'key' | 'ca';

/** Why TLS material cannot be used. */
export interface TlsMaterialProblem {
  part: TlsPart;
  message: string;
}

/** Names a certificate gives: its CNs and whole `DNS:` subject-alternative-name entries. */
export function certificateNames(cns: readonly string[], subjectAltName: string | undefined): string[] {
  // Whole entries only ('DNS:x' inside a URI or a quoted value is no name).
  const dns = [...(subjectAltName ?? '').matchAll(/(?:^|, )DNS:([^,"\s]+)(?=,|$)/g)].map(
    (m) => m[1] as string,
  );
  return [...new Set([...cns, ...dns])];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const text = (b: string | Buffer) => (typeof b === 'string' ? b : b.toString('latin1'));
const reason = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Why `material` cannot serve as member `nodeId`'s TLS identity at `nowMs`, or null when it can:
 * a certificate, key or CA that is not PEM, a CA file without a certificate, a key that does not
 * belong to the certificate (node:tls lets an RSA key pass with an EC certificate), a certificate
 * not valid now, or, with `requirePeerIdInCertificate`, one that does not name `nodeId` (peers
 * would refuse us).
 */
export function tlsMaterialProblem(
  material: TransportTlsOptions,
  nodeId: string,
  nowMs: number,
): TlsMaterialProblem | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(material.cert);
  } catch (e) {
    return { part: 'cert', message: `is not a PEM certificate (${reason(e)})` };
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(material.key);
  } catch (e) {
    return { part: 'key', message: `is not a PEM private key (${reason(e)})` };
  }
  const cas = (Array.isArray(material.ca) ? material.ca : [material.ca]).flatMap(
    (c) => text(c).match(PEM_CERTIFICATE) ?? [],
  );
  if (cas.length === 0)
    return { part: 'ca', message: 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)' };
  for (const pem of cas) {
    try {
      new X509Certificate(pem);
    } catch (e) {
      return { part: 'ca', message: `holds a certificate that does not parse (${reason(e)})` };
    }
  }
  if (!cert.checkPrivateKey(key)) return { part: 'key', message: 'does not belong to the certificate' };
  if (nowMs < Date.parse(cert.validFrom))
    return { part: 'cert', message: `is not valid before ${cert.validFrom}` };
  if (nowMs > Date.parse(cert.validTo)) return { part: 'cert', message: `expired ${cert.validTo}` };
  if (material.requirePeerIdInCertificate) {
    const cns = [...cert.subject.matchAll(/^CN=(.+)$/gm)].map((m) => m[1] as string);
    const names = certificateNames(cns, cert.subjectAltName);
    if (!names.includes(nodeId))
      return {
        part: 'cert',
        message: `names ${names.join(', ') || 'nothing'}, not this member '${nodeId}' (requirePeerIdInCertificate)`,
      };
  }
  try {
    tls.createSecureContext({ key: material.key, cert: material.cert, ca: material.ca });
  } catch (e) {
    return { part: 'cert', message: `is refused by node:tls (${reason(e)})` };
  }
  return null;
}

/** `problem` as one sentence ("the certificate expired ..."). */
export function describeTlsProblem(problem: TlsMaterialProblem): string {
  const what = { cert: 'the certificate', key: 'the key', ca: 'the CA file' }[problem.part];
  return `${what} ${problem.message}`;
}
