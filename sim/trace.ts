/**
 * A trace recorder with a running FNV-1a 64-bit hash over its event lines, so a test can assert
 * that the same seed twice gives the same trace (compare `hash`) without keeping every line.
 */

/** Options for `Trace`. */
export interface TraceOptions {
  /** Keep the last `keep` lines in memory (for printing a failing run); 0 keeps none. Default 0. */
  keep?: number;
  /** Called with every recorded line (e.g. to stream a trace to a file). */
  onLine?: (line: string) => void;
}

const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;

/** Incremental FNV-1a 64-bit hash over the UTF-16 code units of strings (one byte per unit < 256). */
export class Fnv64 {
  private hi = FNV_OFFSET_HI;
  private lo = FNV_OFFSET_LO;

  /** Mixes in a string. */
  update(s: string): this {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) this.byte(c >>> 8);
      this.byte(c & 0xff);
    }
    return this;
  }

  /** Mixes in one byte. FNV-1a 64: h ^= byte; h *= 0x100000001b3, on two 32-bit halves, using
   * 0x100000001b3 = 2^40 + 0x1b3, so h * p = h * 0x1b3 + (h << 40). */
  byte(b: number): this {
    const lo = (this.lo ^ (b & 0xff)) >>> 0;
    const t = lo * 0x1b3; // < 2^41: exact in a double
    const carry = Math.floor(t / 4294967296);
    this.lo = t >>> 0;
    this.hi = (Math.imul(this.hi, 0x1b3) + carry + (lo << 8)) >>> 0;
    return this;
  }

  /** The hash so far as 16 lowercase hex digits. */
  hex(): string {
    return hex8(this.hi) + hex8(this.lo);
  }
}

/** Records event lines and maintains their running hash. */
export class Trace {
  private readonly fnv = new Fnv64();
  private readonly keep: number;
  private readonly kept: string[] = [];
  private readonly onLine: ((line: string) => void) | undefined;
  /** Number of lines recorded so far. */
  count = 0;

  /** A recorder; see `TraceOptions`. */
  constructor(opts: TraceOptions = {}) {
    this.keep = Math.max(0, opts.keep ?? 0);
    this.onLine = opts.onLine;
  }

  /** Appends one line (a newline separator is hashed after it). */
  record(line: string): void {
    this.fnv.update(line).byte(10);
    this.count++;
    if (this.keep > 0) {
      this.kept.push(line);
      if (this.kept.length > this.keep) this.kept.shift();
    }
    this.onLine?.(line);
  }

  /** The running hash as 16 lowercase hex digits. */
  get hash(): string {
    return this.fnv.hex();
  }

  /** The last lines kept (see `TraceOptions.keep`), oldest first. */
  lines(): string[] {
    return this.kept.slice();
  }
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** FNV-1a 32-bit hash of bytes, as 8 hex digits (used to fingerprint frames in trace lines). */
export function hashBytes(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return hex8(h);
}
