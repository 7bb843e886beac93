/**
 * The production `Env.random`: uniform floats in [0, 1) with 53 random bits from the operating
 * system's CSPRNG (`crypto.getRandomValues`), drawn in blocks to amortise the call.
 */
import { webcrypto } from 'node:crypto';

const BLOCK = 256; // 32-bit words fetched per refill (two per number)

/** Returns a function drawing floats in [0, 1) from the OS CSPRNG. */
export function createRealRandom(): () => number {
  const words = new Uint32Array(BLOCK);
  let i = BLOCK;
  return () => {
    if (i + 2 > BLOCK) {
      webcrypto.getRandomValues(words);
      i = 0;
    }
    const hi = (words[i++] as number) >>> 5; // 27 bits
    const lo = (words[i++] as number) >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992; // / 2^53
  };
}

/** A shared instance of `createRealRandom()`. */
export const realRandom: () => number = createRealRandom();
