/** Small socket helpers shared by the network and the client connection (I/O layer only). */
import net from 'node:net';
import tls from 'node:tls';
import type { TransportTlsOptions } from './types.js';

/** A parsed 'host:port' (IPv6 as '[::1]:port'). */
export interface Endpoint {
  host: string;
  port: number;
}

/** Parses 'host:port' or '[v6]:port'; throws RangeError on anything else. */
export function parseEndpoint(address: string): Endpoint {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw new RangeError(`bad endpoint '${address}', expected host:port`);
  return { host: (m[1] ?? m[2]) as string, port };
}

/**
 * Opens a TCP (or TLS, with mutual authentication) connection. `onReady` runs once the socket can
 * carry application bytes ('connect' for TCP, 'secureConnect' for TLS).
 */
export function openSocket(
  ep: Endpoint,
  tlsOpts: TransportTlsOptions | undefined,
  onReady: () => void,
): net.Socket {
  if (tlsOpts) {
    const opts: tls.ConnectionOptions = {
      host: ep.host,
      port: ep.port,
      key: tlsOpts.key,
      cert: tlsOpts.cert,
      ca: tlsOpts.ca,
      rejectUnauthorized: true,
    };
    if (tlsOpts.checkServerIdentity) opts.checkServerIdentity = tlsOpts.checkServerIdentity;
    if (!net.isIP(ep.host)) opts.servername = ep.host;
    const s = tls.connect(opts);
    s.once('secureConnect', onReady);
    return s;
  }
  const s = net.connect({ host: ep.host, port: ep.port });
  s.once('connect', onReady);
  return s;
}

/** A logger that discards everything. */
export const silentLogger = {
  debug(): void {},
  info(): void {},
  warn(): void {},
  error(): void {},
};
