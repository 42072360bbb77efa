// Which port the plan captures for a given sender, and the id of "an ordinary app process": the
// part of probing that is pure plan arithmetic. Kept apart from probe.ts (listeners, node:net) so
// the injector, which uses these to lay out the CNI mode's validation, does not load Node's
// networking at start-up (~5 ms of every `pillion inject`).
import type { CaptureConfig } from '../config.js';
import { simulatePacket, type Packet } from '../explain/simulate.js';
import type { CapturePlan } from '../plan/types.js';
import type { IpFamily } from '../values.js';

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
