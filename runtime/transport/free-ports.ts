import net from 'node:net';

/**
 * Reserves `n` distinct free TCP ports on 127.0.0.1 by binding port 0 and closing the listeners
 * once all are known (holding them open together keeps the ports distinct). A port can in
 * principle be taken by someone else between the close and the caller's bind; that bind then
 * fails loudly. For the demo, the benchmarks and tests.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
