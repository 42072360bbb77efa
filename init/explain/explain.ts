// explain: "what happens to this connection?" answered from the same plan apply installs.
import { isIPv4, isIPv6 } from 'node:net';
import type { CaptureConfig } from '../config.js';
import { UsageError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import { planCaptureRules } from '../plan/planner.js';
import { commentFor } from '../plan/render.js';
import { readLocalAddresses } from '../state/local-addresses.js';
import { ValueError, parseCidr, parseId, parsePort, cidrContains, type IpFamily } from '../values.js';
import { simulatePacket, type Explanation, type Packet } from './simulate.js';

export interface ExplainQuery {
  readonly address: string;
  readonly port: number;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly source: string | undefined;
  readonly interfaceName: string | undefined;
  readonly inbound: boolean;
}

function flagValue<T>(flagName: string, text: string, parse: (t: string) => T): T {
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof ValueError) throw new UsageError(`${flagName}: ${error.message}`);
    throw error;
  }
}

/** `1.2.3.4:80` or `[fd00::1]:80`. */
export function parseHostPort(text: string): { address: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (m?.[1] === undefined || m[2] === undefined) throw new ValueError(`"${text}" is not IP:PORT (use [v6]:PORT for IPv6)`);
  const address = m[1];
  if (!isIPv4(address) && !isIPv6(address)) throw new ValueError(`"${address}" is not an IP address`);
  return { address: parseCidr(address).address, port: parsePort(m[2]) };
}

export function parseExplainQuery(opts: Record<string, string | boolean | undefined>): ExplainQuery {
  const to = opts.to;
  if (typeof to !== 'string') throw new UsageError('--to: required (IP:PORT of the connection to explain)');
  const { address, port } = flagValue('--to', to, parseHostPort);
  const id = (name: string): number | undefined => {
    const v = opts[name];
    return typeof v === 'string' ? flagValue(`--${name}`, v, parseId) : undefined;
  };
  const from = opts.from;
  const source = typeof from === 'string' ? flagValue('--from', from, (t) => parseCidr(t).address) : undefined;
  const iface = opts.interface;
  return {
    address,
    port,
    uid: id('uid'),
    gid: id('gid'),
    source,
    interfaceName: typeof iface === 'string' ? iface : undefined,
    inbound: opts.inbound === true,
  };
}

function familyOf(address: string): IpFamily {
  return isIPv4(address) ? 4 : 6;
}

/** Build the packet: an outbound packet to loopback or to one of our own addresses leaves by lo. */
export function packetFor(query: ExplainQuery, localAddresses: readonly string[]): Packet {
  const family = familyOf(query.address);
  const loopback = family === 4 ? parseCidr('127.0.0.0/8') : parseCidr('::1/128');
  const isLocal = cidrContains(loopback, query.address) || localAddresses.includes(query.address);
  return {
    family,
    protocol: 'tcp',
    source: query.source,
    destination: query.address,
    destinationPort: query.port,
    uid: query.inbound ? undefined : query.uid,
    gid: query.inbound ? undefined : query.gid,
    inInterface: query.inbound ? (query.interfaceName ?? 'eth0') : undefined,
    outInterface: query.inbound ? undefined : (query.interfaceName ?? (isLocal ? 'lo' : 'eth0')),
    inbound: query.inbound,
  };
}

export function renderExplanation(p: Packet, e: Explanation): string {
  const who = p.inbound ? 'inbound' : `outbound from ${p.uid === undefined ? 'an app process' : `uid ${p.uid}`}${p.gid === undefined ? '' : ` gid ${p.gid}`}`;
  const dest = p.family === 6 ? `[${p.destination}]:${p.destinationPort}` : `${p.destination}:${p.destinationPort}`;
  const via = p.inbound ? `arriving on ${p.inInterface ?? '?'}` : `leaving by ${p.outInterface ?? '?'}`;
  const lines = [`connection: tcp to ${dest}${p.source === undefined ? '' : ` from ${p.source}`}, ${who}, ${via}`];
  for (const s of e.steps) {
    const t = s.rule.target;
    const action = t.kind === 'jump' ? `-> ${t.chain}` : t.kind === 'return' ? '-> RETURN' : `-> REDIRECT to port ${t.port}`;
    lines.push(`  ${s.rule.chain} #${s.index} "${commentFor(s.rule)}" ${action}: ${s.rule.description}`);
  }
  const v = e.verdict;
  if (v.kind === 'redirect') {
    const which = v.chain === 'PILLION_IN_REDIRECT' ? 'inbound' : v.chain === 'PILLION_REDIRECT' ? 'outbound' : 'DNS';
    lines.push(`result: captured, redirected to the proxy's ${which} port ${v.port}`);
  } else {
    lines.push(`result: not captured (${v.reason})`);
  }
  return lines.join('\n') + '\n';
}

export async function explainConnection(config: CaptureConfig, query: ExplainQuery, executor: Executor): Promise<string> {
  const local = query.inbound || query.interfaceName !== undefined ? [] : (await readLocalAddresses(executor)).map((a) => a.address);
  const packet = packetFor(query, local);
  return renderExplanation(packet, simulatePacket(planCaptureRules(config), packet));
}
