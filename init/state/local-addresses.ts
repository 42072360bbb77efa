// The addresses this network namespace has now (explain routes a packet to one of them by lo;
// verify probes through them).
import type { Executor } from '../exec/executor.js';
import { parseCidr } from '../values.js';

/** Addresses configured on this namespace's interfaces (best effort: none when `ip` fails). */
export async function readLocalAddresses(executor: Executor): Promise<{ address: string; device: string }[]> {
  const r = await executor.run(['ip', '-o', 'addr', 'show']);
  if (r.exitCode !== 0) return [];
  const found: { address: string; device: string }[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet6?\s+([0-9a-fA-F.:]+)\//.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) found.push({ device: m[1], address: parseCidr(m[2]).address });
  }
  return found;
}
