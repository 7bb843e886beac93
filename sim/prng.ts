/**
 * Seeded pseudo-random numbers for the simulator: xoshiro128** whose 128-bit state comes from the
 * seed key (hashed with cyrb128, each word then mixed by splitmix32).
 *
 * Streams are identified by a key: the root key is `String(seed)` and `fork(label)` derives the
 * key `parent/label`. A fork depends only on the key, never on how many numbers the parent has
 * drawn, so adding a draw in one component never perturbs another component's stream.
 */

/** A seed: any number or string. The same seed always gives the same streams. */
export type Seed = number | string;

/** cyrb128: a fast 128-bit string hash (four 32-bit words). */
function cyrb128(str: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** splitmix32 finaliser: spreads the bits of one 32-bit word. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** A deterministic random stream. Not cryptographically secure; for simulation only. */
export class Prng {
  /** The key that identifies this stream (`String(seed)`, then `/label` per fork). */
  readonly key: string;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A stream for `seed`; two instances built from the same seed produce the same numbers. */
  constructor(seed: Seed) {
    this.key = String(seed);
    const [h1, h2, h3, h4] = cyrb128(this.key);
    this.a = splitmix32(h1);
    this.b = splitmix32(h2 ^ 0x85ebca6b);
    this.c = splitmix32(h3 ^ 0xc2b2ae35);
    this.d = splitmix32(h4 ^ 0x27d4eb2f);
    // xoshiro must not start from the all-zero state.
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** An independent stream derived from this stream's key and `label` (not from its position). */
  fork(label: string): Prng {
    return new Prng(`${this.key}/${label}`);
  }

  /** The next 32-bit unsigned integer (xoshiro128**). */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [min, max], both inclusive. Throws when max < min. */
  int(min: number, max: number): number {
    const lo = Math.ceil(min);
    const hi = Math.floor(max);
    if (hi < lo) throw new RangeError(`Prng.int: empty range [${min}, ${max}]`);
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** A float in [min, max). */
  range(min: number, max: number): number {
    return min + this.float() * (max - min);
  }

  /** True with probability `p` (p <= 0 never draws true, p >= 1 always). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.float() < p;
  }

  /** A uniformly chosen element. Throws on an empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick: empty array');
    return items[Math.floor(this.float() * items.length)] as T;
  }

  /** A shuffled copy (Fisher-Yates); the input is not modified. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /** A function drawing floats in [0, 1) from this stream (the shape of `Env.random`). */
  asRandom(): () => number {
    return () => this.float();
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Shorthand for `new Prng(seed)`. */
export function createPrng(seed: Seed): Prng {
  return new Prng(seed);
}
