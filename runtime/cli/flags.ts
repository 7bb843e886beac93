/**
 * Parsing and validation of the `consensus` command-line flags. Pure functions: every bad value
 * becomes a `FlagError` whose message names the flag, the value and what was expected, so the CLI
 * can print it and exit 2 without a stack trace. `parseTlsFlags` is the one that reads files.
 */
import { readFileSync } from 'node:fs';
import { describeTlsProblem, tlsMaterialProblem } from '../transport/tls-material.js';
import type { TransportTlsOptions } from '../transport/types.js';

/** A bad command-line flag or config value. The CLI prints `message` and exits with code 2. */
export class FlagError extends Error {
  override name = 'FlagError';
  /** The flag (e.g. `--listen`) or config key the problem is in. */
  readonly flag: string;
  constructor(flag: string, message: string) {
    super(`${flag}: ${message}`);
    this.flag = flag;
  }
}

/** A host and port, as given on the command line. */
export interface HostPort {
  host: string;
  port: number;
}

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Parses `HOST:PORT` (IPv6 as `[::1]:PORT`); port 0 means "any free port". */
export function parseHostPort(flag: string, value: string): HostPort {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(value) ?? /^([^:\s[\]]+):(\d+)$/.exec(value);
  if (!m) throw new FlagError(flag, `expected HOST:PORT (e.g. 127.0.0.1:7001), got ${JSON.stringify(value)}`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new FlagError(flag, `port must be 0..65535, got ${m[2]}`);
  }
  return { host: m[1]!, port };
}

/** Formats a host and port back to `HOST:PORT` (brackets for IPv6). */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Checks a node id: 1-64 characters of letters, digits, `_`, `.`, `-`, starting alphanumeric. */
export function parseNodeId(flag: string, value: string): string {
  if (!NODE_ID.test(value)) {
    throw new FlagError(
      flag,
      `node id must be 1-64 of [A-Za-z0-9_.-] starting with a letter or digit, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Parses `ID=HOST:PORT,ID=HOST:PORT,...` into a map; rejects duplicates and malformed entries. */
export function parsePeers(flag: string, value: string): Map<string, HostPort> {
  const peers = new Map<string, HostPort>();
  if (value.trim() === '') return peers;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FlagError(flag, `expected ID=HOST:PORT, got ${JSON.stringify(part)}`);
    const id = parseNodeId(flag, part.slice(0, eq).trim());
    if (peers.has(id)) throw new FlagError(flag, `peer ${id} is listed twice`);
    peers.set(id, parseHostPort(flag, part.slice(eq + 1).trim()));
  }
  return peers;
}

/** Parses a comma-separated endpoint list `HOST:PORT,...` (at least one). */
export function parseEndpoints(flag: string, value: string): HostPort[] {
  const parts = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) throw new FlagError(flag, 'expected at least one HOST:PORT');
  return parts.map((p) => parseHostPort(flag, p));
}

/** Parses a positive integer number of milliseconds (or a count) within [min, max]. */
export function parseIntFlag(flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value))
    throw new FlagError(flag, `expected a whole number, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new FlagError(flag, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Parses a fraction in (0, 1] (barrier thresholds). */
export function parseFraction(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1) {
    throw new FlagError(flag, `must be a number in (0, 1], got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The `--tls-cert`, `--tls-key`, `--tls-ca` flags (files, PEM) as given on the command line. */
export interface TlsFlags {
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-ca'?: string;
}

/**
 * Mutual TLS from the three file flags: all three or none (undefined: plain TCP). A missing or
 * unreadable file, or material that cannot work (not PEM, a key of another certificate, a CA file
 * without a certificate, a certificate not valid now or, for a member with `requirePeerId`, not
 * naming it) is a FlagError naming the flag and the file.
 */
export function parseTlsFlags(
  values: TlsFlags,
  member?: { id: string; requirePeerId: boolean },
): TransportTlsOptions | undefined {
  const names = ['tls-cert', 'tls-key', 'tls-ca'] as const;
  const given = names.filter((n) => values[n] !== undefined);
  if (given.length === 0) return undefined;
  if (given.length < names.length) {
    const missing = names.filter((n) => values[n] === undefined).map((n) => `--${n}`);
    throw new FlagError(
      `--${given[0]}`,
      `TLS needs --tls-cert, --tls-key and --tls-ca together (missing ${missing.join(', ')})`,
    );
  }
  const read = (n: (typeof names)[number]): Buffer => {
    const file = values[n] as string;
    try {
      return readFileSync(file);
    } catch (e) {
      throw new FlagError(
        `--${n}`,
        `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  };
  const material: TransportTlsOptions = {
    cert: read('tls-cert'),
    key: read('tls-key'),
    ca: read('tls-ca'),
    ...(member?.requirePeerId ? { requirePeerIdInCertificate: true } : {}),
  };
  const problem = tlsMaterialProblem(material, member?.id ?? '', Date.now());
  if (problem !== null) {
    const flag = `tls-${problem.part}` as const;
    throw new FlagError(`--${flag}`, `${values[flag]}: ${describeTlsProblem(problem)}`);
  }
  return material;
}
