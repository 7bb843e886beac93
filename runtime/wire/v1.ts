/**
 * The versioned runtime entry point that generated code imports (`runtime/wire/v1.ts`).
 *
 * Contract: generated modules depend only on this file. Everything here is pure (no I/O, no clock,
 * no randomness) so protocol code and the simulator can use it. Breaking changes go into `v2.ts`.
 *
 * Wire primitives: unsigned LEB128 varints (numbers up to 2^53-1, bigints up to 2^64-1), zigzag
 * varints for signed integers, float64 little-endian, length-prefixed bytes and UTF-8 strings.
 * Every read is checked: a malformed frame throws `DecodeError`, never anything else, and no read
 * allocates more than the bytes that remain in the frame.
 */

/** A frame could not be decoded (truncated, malformed, trailing bytes, bad tag, bad UTF-8...). */
export class DecodeError extends Error {
  /** Byte offset in the frame where decoding failed. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'DecodeError';
    this.offset = offset;
  }
}

/** A state machine was asked to fire an event that has no transition from its current state. */
export class IllegalTransition extends Error {
  readonly machine: string;
  readonly state: string;
  readonly event: string;
  constructor(machine: string, state: string, event: string) {
    super(`${machine}: no transition from '${state}' on '${event}'`);
    this.name = 'IllegalTransition';
    this.machine = machine;
    this.state = state;
    this.event = event;
  }
}

/** Runtime configuration was rejected; `field` names the offending key (dotted path). */
export class ConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`config.${field}: ${message}`);
    this.name = 'ConfigError';
    this.field = field;
  }
}

const MAX_U64 = (1n << 64n) - 1n;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes of `s` in UTF-8, as `TextEncoder` encodes it (a lone surrogate counts 3: it becomes
 * U+FFFD), without encoding it: size checks on the apply path allocated a buffer per string.
 */
export function utf8ByteLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: 2 code units, 4 bytes.
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

/**
 * Decodes `buf[start, end)` as UTF-8; invalid UTF-8 throws (a TypeError, TextDecoder's `fatal`).
 * Short ASCII strings, the usual ids and keys, skip the TextDecoder call.
 */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n < 64) {
    let i = start;
    while (i < end && (buf[i] as number) < 0x80) i++;
    if (i === end)
      return n === 0 ? '' : String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  }
  return utf8Decoder.decode(buf.subarray(start, end));
}

/**
 * A binary writer for frames. `reset()` starts a frame, `finish()` returns it as a view that is
 * never overwritten: later frames are written after it in the same chunk, and when a chunk is full
 * a fresh one is allocated (the old one stays alive as long as views of it do). This avoids one
 * allocation and one copy per frame.
 */
export class Writer {
  private buf: Uint8Array;
  private view: DataView | undefined;
  private pos = 0;
  private start = 0;
  private readonly chunkSize: number;

  constructor(chunkSize = 64 * 1024) {
    this.chunkSize = Math.max(64, chunkSize);
    this.buf = new Uint8Array(this.chunkSize);
  }

  /** Number of bytes written to the current frame. */
  get length(): number {
    return this.pos - this.start;
  }

  /** Starts a new frame (drops whatever the current frame holds). */
  reset(): void {
    this.pos = this.start;
    // A nearly full chunk: move to a fresh one rather than growing mid-frame.
    if (this.buf.length - this.pos < this.chunkSize >>> 4) {
      this.buf = new Uint8Array(this.chunkSize);
      this.view = undefined;
      this.pos = 0;
      this.start = 0;
    }
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Move the current frame to a new chunk big enough for it and `n` more bytes.
    const used = this.pos - this.start;
    let size = this.chunkSize;
    while (size < used + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(this.start, this.pos));
    this.buf = next;
    this.view = undefined;
    this.start = 0;
    this.pos = used;
  }

  /** Unsigned varint of a non-negative safe integer (throws RangeError otherwise: a caller bug). */
  uint(n: number): void {
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    const buf = this.buf;
    let pos = this.pos;
    // Fast path: small non-negative int32 (the common case for terms, indexes, lengths, tags).
    if (n >>> 0 === n && n < 0x80000000) {
      while (n >= 0x80) {
        buf[pos++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      buf[pos++] = n;
      this.pos = pos;
      return;
    }
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a non-negative safe integer: ${n}`);
    while (n >= 0x80) {
      buf[pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[pos++] = n;
    this.pos = pos;
  }

  /** Zigzag varint of a safe integer. */
  int(n: number): void {
    if (!Number.isSafeInteger(n)) throw new RangeError(`not a safe integer: ${n}`);
    const z = n >= 0 ? n * 2 : -n * 2 - 1;
    // |n| >= 2^52 zigzags beyond 2^53: take the exact bigint path (same varint bytes).
    if (z <= Number.MAX_SAFE_INTEGER) this.uint(z);
    else this.i64(BigInt(n));
  }

  /** Unsigned varint of a bigint in 0..2^64-1 (at most 10 bytes). */
  u64(n: bigint): void {
    if (n < 0n || n > MAX_U64) throw new RangeError(`not a u64: ${n}`);
    this.ensure(10);
    while (n >= 0x80n) {
      this.buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.pos++] = Number(n);
  }

  /** Zigzag varint of a bigint in -2^63..2^63-1. */
  i64(n: bigint): void {
    if (n < -(1n << 63n) || n >= 1n << 63n) throw new RangeError(`not an i64: ${n}`);
    this.u64(n >= 0n ? n * 2n : -n * 2n - 1n);
  }

  /** float64 little-endian. */
  f64(x: number): void {
    this.ensure(8);
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.view.setFloat64(this.pos, x, true);
    this.pos += 8;
  }

  /** One byte, 0 or 1. */
  bool(b: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = b ? 1 : 0;
  }

  /** Varint length + raw bytes. */
  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Varint byte length + UTF-8. ASCII fast path avoids the encoder for short strings. */
  string(s: string): void {
    const n = s.length;
    if (n < 128) {
      // Optimistic ASCII: write the length byte, then the chars; fall back on the first non-ASCII.
      this.ensure(1 + n);
      const start = this.pos;
      const buf = this.buf;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + 1 + i] = c;
      }
      if (i === n) {
        buf[start] = n;
        this.pos = start + 1 + n;
        return;
      }
    }
    const encoded = utf8Encoder.encode(s);
    this.bytes(encoded);
  }

  /** Ends the frame and returns its bytes (a view that later frames never overwrite). */
  finish(): Uint8Array {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }
}

/** Most zero-byte items (records without fields) one collection may hold: bounds hostile counts. */
export const MAX_ZERO_SIZE_ITEMS = 1 << 16;

/** A checked reader over one frame. Every method throws `DecodeError` on malformed input. */
export class Reader {
  private readonly buf: Uint8Array;
  // Created on first f64 read only: most frames have none, and a DataView per frame is costly.
  private view: DataView | undefined;
  private owned: Uint8Array | undefined;
  private pos = 0;

  constructor(bytes: Uint8Array) {
    this.buf = bytes;
  }

  /** Current byte offset. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes left in the frame. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Throws unless the whole frame was consumed (trailing bytes are an error). */
  end(): void {
    if (this.pos !== this.buf.length)
      throw new DecodeError(`${this.buf.length - this.pos} trailing byte(s)`, this.pos);
  }

  /** Unsigned varint; must fit a safe integer and be minimally encoded. */
  uint(): number {
    const buf = this.buf;
    let pos = this.pos;
    // Fast path: one-byte varint.
    if (pos < buf.length && (buf[pos] as number) < 0x80) {
      this.pos = pos + 1;
      return buf[pos] as number;
    }
    const start = pos;
    let result = 0;
    let mul = 1;
    for (;;) {
      if (pos >= buf.length) throw new DecodeError('truncated varint', start);
      const b = buf[pos++] as number;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (b === 0 && pos - start > 1) throw new DecodeError('non-minimal varint', start);
        break;
      }
      mul *= 0x80;
      if (pos - start >= 8) throw new DecodeError('varint exceeds 2^53', start);
    }
    if (result > Number.MAX_SAFE_INTEGER) throw new DecodeError('varint exceeds 2^53', start);
    this.pos = pos;
    return result;
  }

  /** Zigzag varint of a safe integer. */
  int(): number {
    // Up to 7 varint bytes (49 bits) the number path is exact; longer ones go through bigint.
    let len = 0;
    while (this.pos + len < this.buf.length && len < 10 && (this.buf[this.pos + len] as number) >= 0x80)
      len++;
    if (len < 7) {
      const z = this.uint();
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    const at = this.pos;
    const n = this.i64();
    if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER))
      throw new DecodeError('int exceeds 2^53', at);
    return Number(n);
  }

  /** Unsigned varint as bigint, at most 2^64-1 (10 bytes). */
  u64(): bigint {
    const start = this.pos;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      if (this.pos >= this.buf.length) throw new DecodeError('truncated varint', start);
      if (i >= 10) throw new DecodeError('u64 varint too long', start);
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        if (b === 0 && i > 0) throw new DecodeError('non-minimal varint', start);
        break;
      }
      shift += 7n;
    }
    if (result > MAX_U64) throw new DecodeError('u64 out of range', start);
    return result;
  }

  /** Zigzag varint as a bigint in -2^63..2^63-1. */
  i64(): bigint {
    const z = this.u64();
    return z % 2n === 0n ? z / 2n : -(z + 1n) / 2n;
  }

  /** float64 little-endian. */
  f64(): number {
    if (this.pos + 8 > this.buf.length) throw new DecodeError('truncated f64', this.pos);
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const x = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return x;
  }

  /** One byte that must be 0 or 1. */
  bool(): boolean {
    if (this.pos >= this.buf.length) throw new DecodeError('truncated bool', this.pos);
    const b = this.buf[this.pos];
    if (b !== 0 && b !== 1) throw new DecodeError(`invalid bool byte ${b}`, this.pos);
    this.pos++;
    return b === 1;
  }

  /**
   * Length-checked bytes. The result never aliases the caller's frame (which may be reused): the
   * first `bytes()` of a frame copies the frame once, and every Bytes value is a view of that
   * private copy (one allocation per frame instead of one per value).
   */
  bytes(): Uint8Array {
    const at = this.pos;
    const n = this.uint();
    if (n > this.buf.length - this.pos) {
      throw new DecodeError(`byte length ${n} exceeds the ${this.buf.length - this.pos} remaining`, at);
    }
    this.owned ??= this.buf.slice();
    const out = this.owned.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /**
   * Length-checked bytes in a buffer of their own. `bytes()` copies the whole frame once and hands
   * out views of that copy; for a large frame whose values outlive it one by one (a snapshot being
   * restored in steps), copying each value keeps the work per value and frees what is replaced.
   */
  bytesCopy(): Uint8Array {
    const at = this.pos;
    const n = this.uint();
    if (n > this.buf.length - this.pos) {
      throw new DecodeError(`byte length ${n} exceeds the ${this.buf.length - this.pos} remaining`, at);
    }
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Length-checked UTF-8 string; invalid UTF-8 is a DecodeError. */
  string(): string {
    const at = this.pos;
    const n = this.uint();
    const buf = this.buf;
    if (n > buf.length - this.pos) throw new DecodeError(`string length ${n} exceeds the frame`, at);
    const start = this.pos;
    try {
      const s = decodeUtf8(buf, start, start + n);
      this.pos = start + n;
      return s;
    } catch {
      throw new DecodeError('invalid UTF-8 in string', start);
    }
  }

  /**
   * A collection count, checked against the remaining bytes: every item takes at least
   * `minItemBytes` bytes, so a hostile count can never make the decoder allocate more than the
   * frame's size; items of 0 bytes are capped at `MAX_ZERO_SIZE_ITEMS` per collection.
   */
  count(minItemBytes = 1): number {
    const at = this.pos;
    const n = this.uint();
    // Items of zero bytes (records without fields) cannot be bounded by the bytes left.
    if (minItemBytes === 0 ? n > MAX_ZERO_SIZE_ITEMS : n * minItemBytes > this.buf.length - this.pos) {
      throw new DecodeError(`count ${n} exceeds the remaining ${this.buf.length - this.pos} bytes`, at);
    }
    return n;
  }

  /** An enum ordinal in [0, size). */
  ordinal(size: number, what: string): number {
    const at = this.pos;
    const n = this.uint();
    if (n >= size) throw new DecodeError(`invalid ${what} ordinal ${n}`, at);
    return n;
  }

  /** A presence byte for Option<T>. */
  present(): boolean {
    if (this.pos >= this.buf.length) throw new DecodeError('truncated option', this.pos);
    const b = this.buf[this.pos];
    if (b !== 0 && b !== 1) throw new DecodeError(`invalid option byte ${b}`, this.pos);
    this.pos++;
    return b === 1;
  }
}

/** A transition of a generated state machine. */
export interface TransitionSpec<S extends string, E extends string> {
  readonly from: S;
  readonly to: S;
  readonly on: E;
  readonly condition?: string;
}

/** Hooks and options of a state machine instance. */
export interface MachineOptions<S extends string, E extends string> {
  /** Start state (defaults to the spec's initial state). */
  initial?: S;
  /** Called after entering `state` by `event` from `from` (also for self-transitions). */
  onEnter?(state: S, event: E, from: S): void;
  /** Called before leaving `state` by `event` towards `to`. */
  onExit?(state: S, event: E, to: S): void;
  /** Called once per fired transition. */
  onTrace?(t: { machine: string; from: S; to: S; event: E }): void;
}

/** A running state machine. */
export interface Machine<S extends string, E extends string> {
  readonly state: S;
  /** Fires `event`; returns the new state; throws IllegalTransition when there is no transition. */
  fire(event: E): S;
  /** True when `event` has a transition from the current state. */
  can(event: E): boolean;
}

/**
 * Builds a lookup `state -> event -> target` from a transition table. (from, on) pairs must be
 * unique (the generator rejects duplicates), so the machine is deterministic.
 */
export function indexTransitions<S extends string, E extends string>(
  table: readonly TransitionSpec<S, E>[],
): ReadonlyMap<S, ReadonlyMap<E, S>> {
  const index = new Map<S, Map<E, S>>();
  for (const t of table) {
    let row = index.get(t.from);
    if (!row) {
      row = new Map();
      index.set(t.from, row);
    }
    row.set(t.on, t.to);
  }
  return index;
}

/** The generic state machine behind every generated `createXMachine`. */
export function createMachine<S extends string, E extends string>(
  name: string,
  index: ReadonlyMap<S, ReadonlyMap<E, S>>,
  defaultInitial: S,
  options: MachineOptions<S, E> = {},
): Machine<S, E> {
  let state: S = options.initial ?? defaultInitial;
  return {
    get state() {
      return state;
    },
    can(event: E): boolean {
      return index.get(state)?.has(event) ?? false;
    },
    fire(event: E): S {
      const from = state;
      const to = index.get(from)?.get(event);
      if (to === undefined) throw new IllegalTransition(name, from, event);
      options.onExit?.(from, event, to);
      state = to;
      options.onEnter?.(to, event, from);
      options.onTrace?.({ machine: name, from, to, event });
      return to;
    },
  };
}
