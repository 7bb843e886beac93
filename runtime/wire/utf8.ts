/**
 * UTF-8 helpers of the handwritten runtime that generated code does not need (so they stay out of
 * the versioned entry point `v1.ts`, which is type-checked with the generated code against a
 * minimal library).
 */

const encoder = new TextEncoder();

/**
 * Writes `s` as UTF-8 into `out` at `at`, as `TextEncoder` encodes it (room for
 * `utf8ByteLength(s)` bytes is the caller's); returns the position after it. ASCII, the usual ids,
 * is copied without an encoder call.
 */
export function encodeUtf8Into(s: string, out: Uint8Array, at: number): number {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    out[at + i] = c;
  }
  if (i === s.length) return at + i;
  return at + i + encoder.encodeInto(s.slice(i), out.subarray(at + i)).written;
}
