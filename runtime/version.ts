/**
 * The package's version, for `--version` of the command-line tools: read from the nearest
 * `package.json` named `vibee-consensus` above this module (the same walk works from the sources
 * under vitest and from `dist/` in an installed package).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROTOCOL_VERSION } from './transport/handshake.js';

/** The version in the package's `package.json` ('unknown' if it cannot be found). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'vibee-consensus' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

/** One line for `--version`: the package version and the wire protocol version members speak. */
export function versionLine(tool: string): string {
  return `${tool} ${packageVersion()} (vibee-consensus, wire protocol v${PROTOCOL_VERSION})`;
}
