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

/**
 * The chains every plan has had, in every Pillion version. An apply puts them all in and cleanup
 * takes them all out, each in one transaction, so where none of them exists none of Pillion's
 * rules does either (PILLION_OUT_PORTS and PILLION_DNS only ever come with them). apply's first
 * try in a new namespace (apply/fresh.ts) relies on that: every plan must keep all of them.
 */
export const alwaysPlanned: readonly string[] = [chains.inbound, chains.inboundPorts, chains.inboundRedirect, chains.output, chains.redirect];
export const chainTable = 'nat';

export function isPillionChain(name: string): boolean {
  return name.startsWith(chainPrefix);
}
