// The capture settings a pod gets (values.yaml defaults, then the pod's override annotations) and
// the pillion-init argv they become. Every setting is held PARSED (port ranges, CIDRs) and
// re-formatted here, so the init container's args contain only canonical text the injector
// produced itself — never the raw annotation string.
import {
  formatCidr,
  normalisePortRanges,
  parseBoolean,
  parseCidrList,
  parseCidrSelection,
  parseInterfaceList,
  parsePortList,
  parsePortSelection,
  ValueError,
} from '../../init/index.js';
import type { PortRange, PortSelection } from '../../init/index.js';
import { captureFlags } from '../../init/index.js';
import type { CaptureConfig } from '../../init/index.js';
import { SetupError } from './errors.js';
import { isPlainObject } from './json.js';
import type { JsonObject } from './types.js';

/**
 * What the pod's overrides decide about capture: the same fields as pillion-init's own config (one
 * vocabulary), plus the proxy's own ports, which the injector always excludes from inbound capture.
 */
export type CaptureSettings = Pick<
  CaptureConfig,
  | 'proxyUid' | 'proxyGid' | 'outboundPort' | 'inboundPort' | 'inboundPorts' | 'excludeInboundPorts'
  | 'outboundCidrs' | 'excludeOutboundCidrs' | 'outboundPorts' | 'excludeOutboundPorts'
  | 'excludeInterfaces' | 'redirectDns' | 'dnsPort'
> & {
  /** Ports the proxy itself serves (readiness, metrics): never captured inbound. */
  readonly proxyOwnPorts: readonly number[];
};

function lookup(values: JsonObject, path: string, file: string): unknown {
  let current: unknown = values;
  for (const part of path.split('.')) {
    if (!isPlainObject(current) || !Object.hasOwn(current, part)) throw new SetupError(`${file}: missing key "${path}"`);
    current = current[part];
  }
  return current;
}

function readPortNumber(values: JsonObject, path: string, file: string): number {
  const value = lookup(values, path, file);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new SetupError(`${file}: key "${path}": ${JSON.stringify(value)} is not a port number 1-65535`);
  }
  return value;
}

function readId(values: JsonObject, path: string, file: string): number {
  const value = lookup(values, path, file);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 4294967294) {
    throw new SetupError(`${file}: key "${path}": ${JSON.stringify(value)} is not a numeric id`);
  }
  return value;
}

function readParsed<T>(values: JsonObject, path: string, file: string, parse: (text: string) => T): T {
  const value = lookup(values, path, file);
  const text = typeof value === 'boolean' || typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string') throw new SetupError(`${file}: key "${path}": expected a string`);
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof ValueError) throw new SetupError(`${file}: key "${path}": ${error.message}`, { cause: error });
    throw error;
  }
}

/** Read the capture defaults from values.yaml (validated with the same parsers pillion-init uses). */
export function readCaptureDefaults(values: JsonObject, file: string): CaptureSettings {
  return Object.freeze({
    proxyUid: readId(values, 'proxy.uid', file),
    proxyGid: readId(values, 'proxy.gid', file),
    outboundPort: readPortNumber(values, 'ports.outbound', file),
    inboundPort: readPortNumber(values, 'ports.inbound', file),
    proxyOwnPorts: Object.freeze([readPortNumber(values, 'ports.readiness', file), readPortNumber(values, 'ports.metrics', file)]),
    inboundPorts: readParsed(values, 'capture.inboundPorts', file, parsePortSelection),
    excludeInboundPorts: readParsed(values, 'capture.excludeInboundPorts', file, parsePortList),
    outboundCidrs: readParsed(values, 'capture.outboundCidrs', file, parseCidrSelection),
    excludeOutboundCidrs: readParsed(values, 'capture.excludeOutboundCidrs', file, parseCidrList),
    outboundPorts: readParsed(values, 'capture.outboundPorts', file, parsePortSelection),
    excludeOutboundPorts: readParsed(values, 'capture.excludeOutboundPorts', file, parsePortList),
    excludeInterfaces: readParsed(values, 'capture.excludeInterfaces', file, parseInterfaceList),
    redirectDns: readParsed(values, 'capture.redirectDns', file, parseBoolean),
    dnsPort: readPortNumber(values, 'capture.dnsPort', file),
  });
}

/** `80`, `8000-8100` — the range syntax pillion-init's port flags parse (not iptables' `a:b`). */
function formatPorts(ranges: readonly PortRange[]): string {
  return ranges.map((r) => (r.first === r.last ? String(r.first) : `${r.first}-${r.last}`)).join(',');
}

function formatPortSelection(selection: PortSelection): string {
  return selection === '*' ? '*' : formatPorts(selection);
}

/**
 * pillion-init's flag for a setting, from init's own flag table: the setting's name in kebab case
 * (inboundPorts → --inbound-ports), as init's parser reads it back. Checked when this module loads,
 * so a flag renamed in init fails every test instead of writing args pillion-init refuses.
 */
function initFlag(setting: keyof CaptureConfig): string {
  const flag = `--${setting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (!captureFlags.some((f) => f.flag === flag)) throw new Error(`pillion-init has no ${flag} flag for the capture setting ${setting}`);
  return flag;
}

const initFlags = Object.freeze(Object.fromEntries(
  (['proxyUid', 'proxyGid', 'outboundPort', 'inboundPort', 'inboundPorts', 'excludeInboundPorts', 'outboundCidrs', 'excludeOutboundCidrs',
    'outboundPorts', 'excludeOutboundPorts', 'excludeInterfaces', 'ipv6', 'backend', 'redirectDns', 'dnsPort'] as const).map((setting) => [setting, initFlag(setting)]),
) as Record<keyof CaptureConfig, string>);

/** pillion-init's own default text for a flag (parsed like user input when the flag is absent). */
function initDefault(setting: keyof CaptureConfig): string | undefined {
  return captureFlags.find((f) => f.flag === initFlags[setting])?.defaultText;
}

/**
 * The canonical pillion-init flags for a parsed CaptureConfig: pillion-init's parser reads them back
 * (with an empty environment) as exactly `config`. The proxy's ids and ports, the inbound port
 * selection and exclusions and the outbound CIDRs are always written; the other flags only where
 * they differ from pillion-init's default, so the args read as "what differs".
 */
export function formatCaptureFlags(config: CaptureConfig): string[] {
  const args: string[] = [];
  const add = (setting: keyof CaptureConfig, text: string): void => void args.push(`${initFlags[setting]}=${text}`);
  add('proxyUid', String(config.proxyUid));
  add('proxyGid', String(config.proxyGid));
  add('outboundPort', String(config.outboundPort));
  add('inboundPort', String(config.inboundPort));
  add('inboundPorts', formatPortSelection(config.inboundPorts));
  add('excludeInboundPorts', formatPorts(config.excludeInboundPorts));
  add('outboundCidrs', config.outboundCidrs === '*' ? '*' : config.outboundCidrs.map(formatCidr).join(','));
  if (config.excludeOutboundCidrs.length > 0) add('excludeOutboundCidrs', config.excludeOutboundCidrs.map(formatCidr).join(','));
  if (config.outboundPorts !== '*') add('outboundPorts', formatPorts(config.outboundPorts));
  if (config.excludeOutboundPorts.length > 0) add('excludeOutboundPorts', formatPorts(config.excludeOutboundPorts));
  if (config.excludeInterfaces.length > 0) add('excludeInterfaces', config.excludeInterfaces.join(','));
  if (config.ipv6 !== initDefault('ipv6')) add('ipv6', config.ipv6);
  if (config.backend !== initDefault('backend')) add('backend', config.backend);
  // A switch: pillion-init reads the bare flag as true.
  if (config.redirectDns) args.push(initFlags.redirectDns);
  if (config.redirectDns || String(config.dnsPort) !== initDefault('dnsPort')) add('dnsPort', String(config.dnsPort));
  return args;
}

/**
 * The init container's argv: `apply` and the canonical flags of the pod's settings. The proxy's
 * own readiness and metrics ports are always excluded from inbound capture: the kubelet probes
 * them directly and redirecting them through the proxy would only add a hop.
 */
export function formatInitArgs(settings: CaptureSettings): string[] {
  const { proxyOwnPorts, ...rest } = settings;
  const ownPorts = proxyOwnPorts.map((port) => ({ first: port, last: port }));
  return ['apply', ...formatCaptureFlags({
    ...rest,
    excludeInboundPorts: normalisePortRanges([...settings.excludeInboundPorts, ...ownPorts]),
    // The injector leaves these to pillion-init (a template may set them, as haproxy sets PILLION_IPV6).
    ipv6: 'auto',
    backend: 'auto',
    // Only meaningful with redirectDns: left at pillion-init's default otherwise, as before.
    dnsPort: settings.redirectDns ? settings.dnsPort : Number(initDefault('dnsPort')),
  })];
}
