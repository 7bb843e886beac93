/** `consensus bench` (placeholder until the cluster starter lands). */
export async function benchCommand(_argv: string[]): Promise<number> {
  return 1;
}
