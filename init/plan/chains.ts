// Names of the chains Pillion owns. Every one starts with PILLION_ so cleanup can find them
// (and only them) in iptables-save output, whatever version of Pillion created them.
export const chainPrefix = 'PILLION_';

export const chains = {
  /** PREROUTING jumps here: inbound TCP, interface exclusions. */
  inbound: 'PILLION_INBOUND',
  /** Inbound port selection (shared by real inbound and the proxy's hairpin to the pod IP). */
  inboundPorts: 'PILLION_IN_PORTS',
  /** REDIRECT to the proxy's inbound port. */
  inboundRedirect: 'PILLION_IN_REDIRECT',
  /** OUTPUT jumps here: locally generated TCP. */
  output: 'PILLION_OUTPUT',
  /** Destination-port include-list, used only when both CIDR and port include-lists are given. */
  outboundPorts: 'PILLION_OUT_PORTS',
  /** REDIRECT to the proxy's outbound port. */
  redirect: 'PILLION_REDIRECT',
  /** DNS (port 53, UDP and TCP) to the proxy's DNS port. */
  dns: 'PILLION_DNS',
} as const;

export function isPillionChain(name: string): boolean {
  return name.startsWith(chainPrefix);
}
