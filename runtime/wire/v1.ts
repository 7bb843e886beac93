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
 * A growable binary writer. `finish()` returns a copy-free view of the written bytes; the writer
 * must not be reused afterwards (use `reset()` to start again with the same buffer).
 */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** Forgets the written bytes (keeps the buffer). */
  reset(): void {
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Unsigned varint of a non-negative safe integer (throws RangeError otherwise: a caller bug). */
  uint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a non-negative safe integer: ${n}`);
    this.ensure(8);
    const buf = this.buf;
    let pos = this.pos;
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
    this.uint(n >= 0 ? n * 2 : -n * 2 - 1);
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

  /** float64 little-endian. */
  f64(x: number): void {
    this.ensure(8);
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

  /** The written bytes (a view over the internal buffer). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** A checked reader over one frame. Every method throws `DecodeError` on malformed input. */
export class Reader {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  constructor(bytes: Uint8Array) {
    this.buf = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
    if (this.pos !== this.buf.length) throw new DecodeError(`${this.buf.length - this.pos} trailing byte(s)`, this.pos);
  }

  /** Unsigned varint; must fit a safe integer and be minimally encoded. */
  uint(): number {
    const buf = this.buf;
    let pos = this.pos;
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

  /** Zigzag varint. */
  int(): number {
    const z = this.uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
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

  /** float64 little-endian. */
  f64(): number {
    if (this.pos + 8 > this.buf.length) throw new DecodeError('truncated f64', this.pos);
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

  /** Length-checked bytes (a copy, so the frame buffer can be reused). */
  bytes(): Uint8Array {
    const at = this.pos;
    const n = this.uint();
    if (n > this.buf.length - this.pos) {
      this.pos = at;
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
    if (n < 64) {
      // ASCII fast path: no TextDecoder call for short ASCII strings.
      let s = '';
      let i = 0;
      for (; i < n; i++) {
        const c = buf[start + i] as number;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === n) {
        this.pos = start + n;
        return s;
      }
    }
    try {
      const s = utf8Decoder.decode(buf.subarray(start, start + n));
      this.pos = start + n;
      return s;
    } catch {
      throw new DecodeError('invalid UTF-8 in string', start);
    }
  }

  /**
   * A collection count, checked against the remaining bytes: every item takes at least
   * `minItemBytes` (>= 1) bytes, so a hostile count can never make the decoder allocate more than
   * the frame's size.
   */
  count(minItemBytes = 1): number {
    const at = this.pos;
    const n = this.uint();
    if (n * minItemBytes > this.buf.length - this.pos) {
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
