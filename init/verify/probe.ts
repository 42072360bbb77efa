// What verify and validate share: which local addresses may be probed, which port the plan
// captures for a given sender, a listener standing in for the proxy that collects the nonces
// probes send, and the id of "an ordinary app process". Only the pod's own addresses are probed,
// so a probe whose capture is missing never leaves the network namespace: it meets nothing
// listening on that port and is refused at once.
import { createServer, type Server } from 'node:net';
import type { CaptureConfig } from '../config.js';
import { RuntimeError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import { simulatePacket, type Packet } from '../explain/simulate.js';
import type { CapturePlan } from '../plan/types.js';
import { readLocalAddresses } from '../state/local-addresses.js';
import { cidrContains, parseCidr, type IpFamily } from '../values.js';

/** Ports probes try, in order; then the first port of each include list. */
const candidatePorts = [18080, 28080, 38080, 48080, 8080, 80, 443, 9080];

/**
 * A uid (used as gid too) for "an ordinary app process": neither the proxy's uid nor its gid, whose
 * traffic the rules exempt. 65534 (nobody) unless the proxy uses it. The injector gives the CNI
 * mode's validation container this id.
 */
export function ordinaryId(proxyUid: number, proxyGid: number): number {
  let id = 65534;
  while (id === proxyUid || id === proxyGid) id--;
  return id;
}

/** The ids an ordinary app process runs as, for `config`. */
export function appId(config: CaptureConfig): number {
  return ordinaryId(config.proxyUid, config.proxyGid);
}

export interface Sender {
  readonly family: IpFamily;
  readonly address: string;
  readonly uid: number;
  readonly gid: number;
}

function probePacket(sender: Sender, port: number): Packet {
  return {
    family: sender.family, protocol: 'tcp', source: undefined, destination: sender.address, destinationPort: port,
    uid: sender.uid, gid: sender.gid, inInterface: undefined, outInterface: 'lo', inbound: false,
  };
}

/**
 * A port the plan redirects to `expectPort` for a connection from `sender` to its own address
 * (over lo); undefined when none of the candidates is.
 */
export function capturedPort(plan: CapturePlan, sender: Sender, expectPort: number, config: CaptureConfig): number | undefined {
  const fromLists = [config.inboundPorts, config.outboundPorts].flatMap((sel) => (sel === '*' ? [] : sel.map((r) => r.first)));
  for (const port of [...candidatePorts, ...fromLists]) {
    const v = simulatePacket(plan, probePacket(sender, port)).verdict;
    if (v.kind === 'redirect' && v.port === expectPort) return port;
  }
  return undefined;
}

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
