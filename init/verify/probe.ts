// What verify and validate share: which local addresses may be probed and a listener standing in
// for the proxy that collects the nonces probes send (which port the plan captures, and the id of
// "an ordinary app process": probe-plan.ts). Only the pod's own addresses are probed,
// so a probe whose capture is missing never leaves the network namespace: it meets nothing
// listening on that port and is refused at once.
import { createServer, type Server } from 'node:net';
import { RuntimeError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import { readLocalAddresses } from '../state/local-addresses.js';
import { cidrContains, parseCidr, type IpFamily } from '../values.js';

/** Non-loopback, non-link-local addresses of this network namespace, with their family. */
export async function probeAddresses(executor: Executor): Promise<{ address: string; family: IpFamily }[]> {
  const all = await readLocalAddresses(executor);
  return all
    .filter((a) => a.device !== 'lo' && !['127.0.0.0/8', '::1/128', 'fe80::/10'].some((c) => cidrContains(parseCidr(c), a.address)))
    .map((a) => ({ address: a.address, family: a.address.includes(':') ? 6 : 4 }));
}

export interface Listener {
  readonly server: Server;
  readonly nonces: Set<string>;
}

/** Listen on host:port (`::` IPv6-only) and collect every line received. */
export async function listen(port: number, host: string, command: string): Promise<Listener> {
  const nonces = new Set<string>();
  const server = createServer((socket) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      for (const line of data.split('\n').slice(0, -1)) nonces.add(line);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new RuntimeError(error.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use: ${command} needs the proxy's ports free (run it before the proxy starts)` : `cannot listen on ${host}:${port}: ${error.message}`)),
    );
    server.listen({ port, host, ipv6Only: host === '::' }, resolve);
  });
  return { server, nonces };
}

export function closeListeners(listeners: readonly Listener[]): Promise<void> {
  return Promise.all(listeners.map((l) => new Promise<void>((r) => l.server.close(() => r())))).then(() => undefined);
}

export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}
