/**
 * Polls `cond` in real time until it returns (or resolves to) a truthy value, which is returned,
 * or throws after `timeoutMs` naming `what`. For tests on real sockets and timers; simulations
 * step virtual time.
 */
export async function until<T>(
  what: string,
  cond: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 5_000,
): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
