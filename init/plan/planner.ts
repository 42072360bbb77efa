// The pure planner: CaptureConfig in, CapturePlan out. No I/O, no CLI; same input, same plan.
//
// Traffic model (nat table; the kernel consults nat only for a connection's FIRST packet, and
// conntrack applies the same translation to the rest, so a redirected connection is never
// re-evaluated):
//   PREROUTING -> PILLION_INBOUND : TCP arriving from outside the pod.
//   OUTPUT     -> PILLION_OUTPUT  : TCP generated inside the pod (app or proxy).
//   OUTPUT     -> PILLION_DNS     : UDP port 53 (TCP 53 goes via PILLION_OUTPUT), when enabled.
// Locally generated packets never traverse PREROUTING, not even over lo; that is why the
// proxy's "hairpin" to the pod's own IP is steered to the inbound redirect from OUTPUT.
import { inboundSourceAddresses } from '../contract.js';
import { familiesOf, type CaptureConfig } from '../config.js';
import { normalisePortRanges, parseCidr, type Cidr, type IpFamily, type PortRange } from '../values.js';
import { chains } from './chains.js';
import type { CapturePlan, FamilyPlan, PlannedChain, PlannedRule, RuleMatch, RuleTarget } from './types.js';

const RETURN: RuleTarget = { kind: 'return' };
const jump = (chain: string): RuleTarget => ({ kind: 'jump', chain });

/** Addresses that differ per family. */
interface FamilyAddresses {
  /** The whole loopback range: traffic between the pod's containers. */
  readonly loopback: Cidr;
  /** Source the proxy uses when it forwards an inbound connection to the app (proxy contract). */
  readonly inboundSource: Cidr;
}

const familyAddresses: Record<IpFamily, FamilyAddresses> = {
  4: { loopback: parseCidr('127.0.0.0/8'), inboundSource: parseCidr(`${inboundSourceAddresses[4]}/32`) },
  6: { loopback: parseCidr('::1/128'), inboundSource: parseCidr(`${inboundSourceAddresses[6]}/128`) },
};

const SSH_PORT = 22;

export function planCaptureRules(config: CaptureConfig): CapturePlan {
  return Object.freeze({ families: familiesOf(config.ipv6).map((family) => planFamily(config, family)) });
}

/** A plan's part for one family; undefined when the plan does not cover it. */
export function familyPlan(plan: CapturePlan, family: IpFamily): FamilyPlan | undefined {
  return plan.families.find((f) => f.family === family);
}

function planFamily(config: CaptureConfig, family: IpFamily): FamilyPlan {
  const planned: PlannedChain[] = [
    { name: chains.inbound, rules: planInbound(config) },
    { name: chains.inboundPorts, rules: planInboundPorts(config) },
    { name: chains.inboundRedirect, rules: [planRedirect(chains.inboundRedirect, config.inboundPort, 'inbound')] },
    { name: chains.output, rules: planOutput(config, family) },
  ];
  if (usesOutboundPortsChain(config, family)) {
    planned.push({ name: chains.outboundPorts, rules: planOutboundPortsChain(config) });
  }
  planned.push({ name: chains.redirect, rules: [planRedirect(chains.redirect, config.outboundPort, 'outbound')] });
  if (config.redirectDns) planned.push({ name: chains.dns, rules: planDns(config) });
  return { family, tables: [{ table: 'nat', chains: planned, jumps: planJumps(config) }] };
}

function rule(chain: string, match: RuleMatch, target: RuleTarget, tag: string, description: string): PlannedRule {
  return { chain, match, target, tag, description };
}

function planJumps(config: CaptureConfig): PlannedRule[] {
  const jumps = [
    rule('PREROUTING', { protocol: 'tcp' }, jump(chains.inbound), 'inbound capture', 'TCP arriving at the pod enters Pillion\'s inbound chain'),
    rule('OUTPUT', { protocol: 'tcp' }, jump(chains.output), 'outbound capture', 'TCP leaving a process in the pod enters Pillion\'s outbound chain'),
  ];
  if (config.redirectDns) {
    jumps.push(
      rule('OUTPUT', { protocol: 'udp', destinationPorts: { first: 53, last: 53 } }, jump(chains.dns), 'dns capture', 'UDP DNS queries enter Pillion\'s DNS chain'),
    );
  }
  return jumps;
}

function planInbound(config: CaptureConfig): PlannedRule[] {
  const c = chains.inbound;
  return [
    ...config.excludeInterfaces.map((name) =>
      rule(c, { inInterface: name }, RETURN, `exclude interface ${name}`, `traffic arriving on excluded interface ${name} bypasses the proxy`),
    ),
    rule(c, {}, jump(chains.inboundPorts), 'inbound ports', 'select inbound destination ports'),
  ];
}

/** Ports of the proxy's own listeners: connecting to them must never be redirected again. */
function proxyPorts(config: CaptureConfig): PortRange[] {
  const ports = [config.inboundPort, config.outboundPort];
  if (config.redirectDns) ports.push(config.dnsPort);
  return normalisePortRanges(ports.map((p) => ({ first: p, last: p })));
}

function planInboundPorts(config: CaptureConfig): PlannedRule[] {
  const c = chains.inboundPorts;
  const tcp = (range: PortRange): RuleMatch => ({ protocol: 'tcp', destinationPorts: range });
  const rules: PlannedRule[] = proxyPorts(config).map((range) =>
    rule(c, tcp(range), RETURN, 'proxy port', 'the proxy\'s own listener ports are reached directly, never redirected onto each other'),
  );
  // Host operators must never be locked out: with "*" port 22 stays with sshd. Listing a range
  // or port that covers 22 in --inbound-ports is taken as the explicit request to capture it.
  if (config.inboundPorts === '*') {
    rules.push(rule(c, tcp({ first: SSH_PORT, last: SSH_PORT }), RETURN, 'ssh never captured', 'port 22 is never captured unless --inbound-ports lists it'));
  }
  for (const range of config.excludeInboundPorts) {
    rules.push(rule(c, tcp(range), RETURN, 'exclude inbound port', 'excluded inbound port (--exclude-inbound-ports) bypasses the proxy'));
  }
  if (config.inboundPorts === '*') {
    rules.push(rule(c, { protocol: 'tcp' }, jump(chains.inboundRedirect), 'capture inbound', 'inbound TCP is redirected to the proxy\'s inbound port'));
  } else {
    for (const range of config.inboundPorts) {
      rules.push(rule(c, tcp(range), jump(chains.inboundRedirect), 'capture inbound port', 'listed inbound port (--inbound-ports) is redirected to the proxy\'s inbound port'));
    }
  }
  return rules;
}

function planRedirect(chain: string, port: number, direction: string): PlannedRule {
  return rule(chain, { protocol: 'tcp' }, { kind: 'redirect', port }, `${direction} redirect`, `REDIRECT to the proxy's ${direction} port ${port}`);
}

function cidrsOf(family: IpFamily, cidrs: readonly Cidr[]): Cidr[] {
  return cidrs.filter((c) => c.family === family);
}

function usesOutboundPortsChain(config: CaptureConfig, family: IpFamily): boolean {
  return config.outboundCidrs !== '*' && config.outboundPorts !== '*' && cidrsOf(family, config.outboundCidrs).length > 0;
}

function planOutput(config: CaptureConfig, family: IpFamily): PlannedRule[] {
  const c = chains.output;
  const { loopback, inboundSource } = familyAddresses[family];
  const owners: { match: RuleMatch; what: string }[] = [
    { match: { uidOwner: config.proxyUid }, what: `uid ${config.proxyUid}` },
    { match: { gidOwner: config.proxyGid }, what: `gid ${config.proxyGid}` },
  ];
  const rules: PlannedRule[] = [];
  if (config.redirectDns) {
    rules.push(rule(c, { protocol: 'tcp', destinationPorts: { first: 53, last: 53 } }, jump(chains.dns), 'dns capture', 'TCP DNS queries enter Pillion\'s DNS chain'));
  }
  for (const name of config.excludeInterfaces) {
    rules.push(rule(c, { outInterface: name }, RETURN, `exclude interface ${name}`, `traffic leaving through excluded interface ${name} bypasses the proxy`));
  }
  rules.push(
    rule(c, { source: inboundSource, outInterface: 'lo' }, RETURN, 'proxy to app', `the proxy forwarding inbound connections to the app (from ${inboundSource.address}) is not captured again`),
  );
  // The hairpin: the proxy (as its own uid/gid) connects to the pod's own, non-loopback address,
  // usually on behalf of the app calling itself. That connection is inbound for the app, so it
  // gets the inbound treatment (port selection and redirect to the inbound port).
  for (const owner of owners) {
    rules.push(
      rule(c, { destination: loopback, destinationNegated: true, outInterface: 'lo', ...owner.match }, jump(chains.inboundPorts), 'proxy hairpin', `the proxy (${owner.what}) connecting to this pod's own address is treated as inbound`),
    );
  }
  for (const owner of owners) {
    rules.push(rule(c, owner.match, RETURN, 'proxy traffic', `traffic of the proxy (${owner.what}) is never captured`));
  }
  rules.push(rule(c, { destination: loopback }, RETURN, 'loopback', 'traffic between the pod\'s containers over loopback is not captured'));
  for (const range of proxyPorts(config)) {
    rules.push(rule(c, { outInterface: 'lo', protocol: 'tcp', destinationPorts: range }, RETURN, 'proxy port', 'connections to the proxy\'s own ports on a local address reach it directly'));
  }
  for (const cidr of cidrsOf(family, config.excludeOutboundCidrs)) {
    rules.push(rule(c, { destination: cidr }, RETURN, 'exclude outbound cidr', 'excluded destination (--exclude-outbound-cidrs) bypasses the proxy'));
  }
  for (const range of config.excludeOutboundPorts) {
    rules.push(rule(c, { protocol: 'tcp', destinationPorts: range }, RETURN, 'exclude outbound port', 'excluded destination port (--exclude-outbound-ports) bypasses the proxy'));
  }
  rules.push(...planOutboundInclude(config, family));
  return rules;
}

/** Include-lists stay linear: CIDRs in PILLION_OUTPUT, ports in PILLION_OUT_PORTS, never CIDR x port. */
function planOutboundInclude(config: CaptureConfig, family: IpFamily): PlannedRule[] {
  const c = chains.output;
  const toRedirect = jump(chains.redirect);
  if (config.outboundCidrs === '*') {
    if (config.outboundPorts === '*') {
      return [rule(c, { protocol: 'tcp' }, toRedirect, 'capture outbound', 'outbound TCP is redirected to the proxy\'s outbound port')];
    }
    return config.outboundPorts.map((range) =>
      rule(c, { protocol: 'tcp', destinationPorts: range }, toRedirect, 'capture outbound port', 'listed destination port (--outbound-ports) is redirected to the proxy\'s outbound port'),
    );
  }
  const target = config.outboundPorts === '*' ? toRedirect : jump(chains.outboundPorts);
  return cidrsOf(family, config.outboundCidrs).map((cidr) =>
    rule(c, { destination: cidr, protocol: 'tcp' }, target, 'capture outbound cidr', 'listed destination (--outbound-cidrs) is captured'),
  );
}

function planOutboundPortsChain(config: CaptureConfig): PlannedRule[] {
  const ports = config.outboundPorts === '*' ? [] : config.outboundPorts;
  return ports.map((range) =>
    rule(chains.outboundPorts, { protocol: 'tcp', destinationPorts: range }, jump(chains.redirect), 'capture outbound port', 'listed destination port (--outbound-ports) is redirected to the proxy\'s outbound port'),
  );
}

function planDns(config: CaptureConfig): PlannedRule[] {
  const c = chains.dns;
  return [
    rule(c, { uidOwner: config.proxyUid }, RETURN, 'proxy dns', `the proxy's own lookups (uid ${config.proxyUid}) go to the real resolver`),
    rule(c, { gidOwner: config.proxyGid }, RETURN, 'proxy dns', `the proxy's own lookups (gid ${config.proxyGid}) go to the real resolver`),
    rule(c, { protocol: 'udp' }, { kind: 'redirect', port: config.dnsPort }, 'dns redirect', `UDP DNS is redirected to the proxy's DNS port ${config.dnsPort}`),
    rule(c, { protocol: 'tcp' }, { kind: 'redirect', port: config.dnsPort }, 'dns redirect', `TCP DNS is redirected to the proxy's DNS port ${config.dnsPort}`),
  ];
}
