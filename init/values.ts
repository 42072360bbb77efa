// Parsers for the values pillion-init's flags take. The injector validates its override
// annotations with these same functions, so a value accepted on a pod is accepted by the init
// container that receives it, and vice versa: one vocabulary, one implementation.

/** A value was invalid. `message` names the problem, never the flag: callers prefix that. */
export class ValueError extends Error {
  override name = 'ValueError';
}

/** An inclusive TCP/UDP port range; a single port has first === last. */
export interface PortRange {
  readonly first: number;
  readonly last: number;
}

/** `*` means "every port" (or every address); otherwise an explicit, non-empty list. */
export type PortSelection = '*' | readonly PortRange[];

export type IpFamily = 4 | 6;

export interface Cidr {
  readonly family: IpFamily;
  /** Network address as written by the user, normalised to its canonical text form. */
  readonly address: string;
  readonly prefix: number;
}

export type CidrSelection = '*' | readonly Cidr[];

/** Parse one port number, 1..65535. */
export function parsePort(text: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) throw new ValueError(`"${text}" is not a port number`);
  const port = Number(trimmed);
  if (port < 1 || port > 65535) throw new ValueError(`port ${trimmed} is out of range 1-65535`);
  return port;
}

function parsePortRange(item: string): PortRange {
  const parts = item.split('-');
  if (parts.length === 1) {
    const port = parsePort(item);
    return { first: port, last: port };
  }
  if (parts.length !== 2) throw new ValueError(`"${item}" is not a port or a range like 8000-8100`);
  const first = parsePort(parts[0] ?? '');
  const last = parsePort(parts[1] ?? '');
  if (first > last) throw new ValueError(`range ${item} runs backwards`);
  return { first, last };
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Parse a comma-separated list of ports and ranges (`80,443,8000-8100`); empty text is an empty list. */
export function parsePortList(text: string): readonly PortRange[] {
  const ranges = splitList(text).map(parsePortRange);
  return Object.freeze(normalisePortRanges(ranges));
}

/** Like parsePortList, but also accepts `*` (every port). An empty value is rejected. */
export function parsePortSelection(text: string): PortSelection {
  if (text.trim() === '*') return '*';
  const ranges = parsePortList(text);
  if (ranges.length === 0) throw new ValueError('expected "*" or a list of ports');
  return ranges;
}

/** Sort and merge overlapping or adjacent ranges, so equal selections render identically. */
export function normalisePortRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first || a.last - b.last);
  const merged: PortRange[] = [];
  for (const range of sorted) {
    const previous = merged.at(-1);
    if (previous !== undefined && range.first <= previous.last + 1) {
      merged[merged.length - 1] = { first: previous.first, last: Math.max(previous.last, range.last) };
    } else {
      merged.push({ first: range.first, last: range.last });
    }
  }
  return merged;
}

/** Render ranges the way iptables' --dport takes them: `80`, `8000:8100`. */
export function formatPortRange(range: PortRange): string {
  return range.first === range.last ? String(range.first) : `${range.first}:${range.last}`;
}

/** Parse one CIDR (`10.0.0.0/8`, `fd00::/8`); a bare address means a host route (/32 or /128). */
// An IPv4 address as Node's net.isIPv4 takes it: four decimal octets 0-255, no leading zeros.
const octet = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)';
const ipv4Address = new RegExp(`^${octet}(?:\\.${octet}){3}$`);

/**
 * The family of an IP address without a zone index; undefined when it is none. The same answers as
 * net.isIPv4 / net.isIPv6 (test/init/values.test.ts compares them), without their cost: the first
 * isIPv6 call compiles a regular expression that took 6 ms of every pillion-init start. IPv6 is
 * checked by the WHATWG URL parser, which takes exactly the RFC 4291 text forms.
 */
export function ipFamilyOf(address: string): IpFamily | undefined {
  if (ipv4Address.test(address)) return 4;
  if (!address.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(address)) return undefined;
  try {
    new URL(`http://[${address}]/`);
    return 6;
  } catch {
    return undefined;
  }
}

export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const [address = '', prefixText, ...rest] = trimmed.split('/');
  if (rest.length > 0) throw new ValueError(`"${text}" is not a CIDR`);
  // Node's isIPv6 accepts a zone index (fe80::1%eth0); iptables takes none, and the canonical
  // form below could not be computed from it.
  if (address.includes('%')) throw new ValueError(`"${text}" has a zone index (%...); a CIDR takes none`);
  const family = ipFamilyOf(address);
  if (family === undefined) throw new ValueError(`"${text}" is not an IPv4 or IPv6 CIDR`);
  const maxPrefix = family === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > maxPrefix) {
      throw new ValueError(`"${text}" has an invalid prefix length (0-${maxPrefix})`);
    }
    prefix = Number(prefixText);
  }
  return Object.freeze({ family, address: canonicalAddress(address, family), prefix });
}

/** Parse a comma-separated CIDR list; empty text is an empty list. */
export function parseCidrList(text: string): readonly Cidr[] {
  return Object.freeze(splitList(text).map(parseCidr));
}

/** Like parseCidrList, but also accepts `*` (every address). An empty value is rejected. */
export function parseCidrSelection(text: string): CidrSelection {
  if (text.trim() === '*') return '*';
  const cidrs = parseCidrList(text);
  if (cidrs.length === 0) throw new ValueError('expected "*" or a list of CIDRs');
  return cidrs;
}

export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

function canonicalAddress(address: string, family: IpFamily): string {
  if (family === 4) return address.split('.').map((octet) => String(Number(octet))).join('.');
  // URL parsing yields the RFC 5952 canonical (compressed, lower-case) form of an IPv6 address.
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

// Linux interface names: 1-15 bytes, no '/', no whitespace, not '.' or '..'. We are stricter
// (letters, digits and . _ -) because these names end up as iptables arguments; the kernel itself
// refuses ":" (alias labels) and "/".
const interfaceName = /^[A-Za-z0-9_.-]{1,15}$/;

/** Parse a comma-separated list of network interface names. */
export function parseInterfaceList(text: string): readonly string[] {
  const names = splitList(text);
  for (const name of names) {
    if (!interfaceName.test(name) || name === '.' || name === '..') {
      throw new ValueError(`"${name}" is not a valid interface name`);
    }
  }
  return Object.freeze([...new Set(names)]);
}

/** Parse a boolean the way annotations and env vars write it. */
export function parseBoolean(text: string): boolean {
  const v = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on', 'enabled'].includes(v)) return true;
  if (['false', '0', 'no', 'off', 'disabled'].includes(v)) return false;
  throw new ValueError(`"${text}" is not a boolean (true/false)`);
}

/** Parse a non-negative integer id (uid/gid). */
export function parseId(text: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) > 4294967294) {
    throw new ValueError(`"${text}" is not a valid numeric id`);
  }
  return Number(trimmed);
}

/** Parse an IP address (either family) into its family and 128-bit-capable integer value. */
function addressToBigInt(address: string): { family: IpFamily; value: bigint } | undefined {
  const family = ipFamilyOf(address);
  if (family === 4) {
    const value = address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
    return { family: 4, value };
  }
  if (family !== 6) return undefined;
  // Expand "::" and any embedded dotted-quad tail into eight 16-bit groups.
  let text = canonicalAddress(address, 6);
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1] !== undefined) {
    const v4 = addressToBigInt(dotted[1])?.value ?? 0n;
    text = text.slice(0, -dotted[1].length) + `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = [...headGroups, ...zeros, ...tailGroups];
  const value = groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
  return { family: 6, value };
}

/** True when `address` (an IP of either family) lies inside `cidr`; false for the other family. */
export function cidrContains(cidr: Cidr, address: string): boolean {
  const ip = addressToBigInt(address);
  const net = addressToBigInt(cidr.address);
  if (ip === undefined || net === undefined || ip.family !== cidr.family) return false;
  const bits = BigInt(cidr.family === 4 ? 32 : 128);
  const shift = bits - BigInt(cidr.prefix);
  return ip.value >> shift === net.value >> shift;
}
