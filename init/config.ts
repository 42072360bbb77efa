// CaptureConfig: everything pillion-init's planner needs, parsed ONCE from flags and env into
// frozen, fully defaulted plain data. The planner, renderer and appliers never see flags, so a
// future CNI plugin can build a CaptureConfig its own way and reuse the whole library.
import { UsageError } from './errors.js';
import { flagKey, flagValues, parseFlags, type FlagSpec, type FlagValues } from './flags.js';
import {
  ValueError,
  parseBoolean,
  parseCidrList,
  parseCidrSelection,
  parseId,
  parseInterfaceList,
  parsePort,
  parsePortList,
  parsePortSelection,
  type Cidr,
  type IpFamily,
  type CidrSelection,
  type PortRange,
  type PortSelection,
} from './values.js';

export type Ipv6Mode = 'auto' | 'on' | 'off';

/** The families a capture may cover: IPv4 always, IPv6 unless it is off (auto decides on the host). */
export function familiesOf(ipv6: Ipv6Mode): IpFamily[] {
  return ipv6 === 'off' ? [4] : [4, 6];
}

export type BackendChoice = 'auto' | 'legacy' | 'nft';

export interface CaptureConfig {
  readonly proxyUid: number;
  readonly proxyGid: number;
  readonly outboundPort: number;
  readonly inboundPort: number;
  readonly inboundPorts: PortSelection;
  readonly excludeInboundPorts: readonly PortRange[];
  readonly outboundCidrs: CidrSelection;
  readonly excludeOutboundCidrs: readonly Cidr[];
  readonly outboundPorts: PortSelection;
  readonly excludeOutboundPorts: readonly PortRange[];
  readonly excludeInterfaces: readonly string[];
  readonly ipv6: Ipv6Mode;
  readonly backend: BackendChoice;
  readonly redirectDns: boolean;
  readonly dnsPort: number;
}

/** One capture flag: its name, default (as text, parsed like user input) and meaning. */
export interface CaptureFlag {
  readonly flag: string;
  readonly env: string;
  readonly defaultText: string | undefined;
  readonly help: string;
}

/** Env name for a flag: --inbound-ports -> PILLION_INBOUND_PORTS. */
export function envNameFor(flag: string): string {
  return `PILLION_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

function flag(name: string, defaultText: string | undefined, help: string): CaptureFlag {
  return { flag: name, env: envNameFor(name), defaultText, help };
}

/** The capture flags, in documentation order. docs/init.md's table mirrors this list. */
export const captureFlags: readonly CaptureFlag[] = [
  flag('--proxy-uid', '1337', 'uid the proxy runs as; its traffic is never captured'),
  flag('--proxy-gid', undefined, 'gid the proxy runs as (default: the proxy uid)'),
  flag('--outbound-port', '15001', "proxy's outbound listener"),
  flag('--inbound-port', '15006', "proxy's inbound listener"),
  flag('--inbound-ports', '*', 'inbound ports to capture: "*" or a list (80,8000-8100)'),
  flag('--exclude-inbound-ports', '15021,15090', 'inbound ports never captured'),
  flag('--outbound-cidrs', '*', 'outbound destinations to capture: "*" or a CIDR list'),
  flag('--exclude-outbound-cidrs', '', 'outbound destinations never captured'),
  flag('--outbound-ports', '*', 'outbound destination ports to capture: "*" or a list'),
  flag('--exclude-outbound-ports', '', 'outbound destination ports never captured'),
  flag('--exclude-interfaces', '', 'interfaces whose traffic (in or out) bypasses the proxy'),
  flag('--ipv6', 'auto', 'auto|on|off: also capture IPv6 (ip6tables)'),
  flag('--backend', 'auto', 'auto|legacy|nft: which iptables flavour to program'),
  flag('--redirect-dns', 'false', 'redirect DNS (UDP and TCP port 53) to --dns-port'),
  flag('--dns-port', '15053', "proxy's DNS listener"),
];

/** Flags `cleanup` accepts (it needs no rule shape: it removes whatever Pillion installed). */
export const cleanupFlagNames: readonly string[] = ['--backend', '--ipv6'];

/** The capture flags as the command-line parser reads them (`only`: just those flags). */
export function captureFlagSpecs(only?: readonly string[]): FlagSpec[] {
  return captureFlags
    .filter((f) => only === undefined || only.includes(f.flag))
    .map((f) => ({ flag: f.flag, value: f.flag === '--redirect-dns' ? 'optional' : 'required' }));
}

/** Resolve one flag's text: command line beats env beats the default. */
function rawValue(cmd: FlagValues, f: CaptureFlag, env: NodeJS.ProcessEnv): string | undefined {
  const fromCli = cmd.getOptionValue(flagKey(f.flag)) as string | boolean | undefined;
  if (fromCli !== undefined) return fromCli === true ? 'true' : String(fromCli);
  const fromEnv = env[f.env];
  if (fromEnv !== undefined) return fromEnv;
  return f.defaultText;
}

/** Run a value parser and turn its ValueError into a usage error naming the flag (or env var). */
function parseFlag<T>(cmd: FlagValues, f: CaptureFlag, env: NodeJS.ProcessEnv, parse: (text: string) => T): T {
  const text = rawValue(cmd, f, env) ?? '';
  try {
    return parse(text);
  } catch (error) {
    if (!(error instanceof ValueError)) throw error;
    const fromCli = cmd.getOptionValue(flagKey(f.flag)) !== undefined;
    const where = fromCli ? f.flag : `${f.flag} (from ${f.env})`;
    throw new UsageError(`${where}: ${error.message}`);
  }
}

function parseChoice<T extends string>(choices: readonly T[]): (text: string) => T {
  return (text) => {
    const value = text.trim().toLowerCase();
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw new ValueError(`"${text}" is not one of ${choices.join(', ')}`);
  };
}

function byName(name: string): CaptureFlag {
  const found = captureFlags.find((f) => f.flag === name);
  if (found === undefined) throw new Error(`unknown capture flag ${name}`);
  return found;
}

/** Read a CaptureConfig from parsed capture flags (parseFlags with captureFlagSpecs, or a commander command with the same options). */
export function readCaptureConfig(cmd: FlagValues, env: NodeJS.ProcessEnv): CaptureConfig {
  const get = <T>(name: string, parse: (text: string) => T): T => parseFlag(cmd, byName(name), env, parse);
  const proxyUid = get('--proxy-uid', parseId);
  const gidFlag = byName('--proxy-gid');
  const proxyGid = rawValue(cmd, gidFlag, env) === undefined ? proxyUid : get('--proxy-gid', parseId);
  const ipv6 = get('--ipv6', parseChoice(['auto', 'on', 'off'] as const));
  const config: CaptureConfig = {
    proxyUid,
    proxyGid,
    outboundPort: get('--outbound-port', parsePort),
    inboundPort: get('--inbound-port', parsePort),
    inboundPorts: get('--inbound-ports', parsePortSelection),
    excludeInboundPorts: get('--exclude-inbound-ports', parsePortList),
    outboundCidrs: get('--outbound-cidrs', parseCidrSelection),
    excludeOutboundCidrs: get('--exclude-outbound-cidrs', parseCidrList),
    outboundPorts: get('--outbound-ports', parsePortSelection),
    excludeOutboundPorts: get('--exclude-outbound-ports', parsePortList),
    excludeInterfaces: get('--exclude-interfaces', parseInterfaceList),
    ipv6,
    backend: get('--backend', parseChoice(['auto', 'legacy', 'nft'] as const)),
    redirectDns: get('--redirect-dns', parseBoolean),
    dnsPort: get('--dns-port', parsePort),
  };
  checkCombination(config);
  return Object.freeze(config);
}

/** Cross-flag rules a single value parser cannot see. */
function checkCombination(config: CaptureConfig): void {
  if (config.ipv6 === 'off') {
    const v6 = (name: string, cidrs: CidrSelection): void => {
      const found = cidrs === '*' ? undefined : cidrs.find((c) => c.family === 6);
      if (found !== undefined) {
        throw new UsageError(`${name}: ${found.address}/${found.prefix} is an IPv6 CIDR but --ipv6 is off`);
      }
    };
    v6('--outbound-cidrs', config.outboundCidrs);
    v6('--exclude-outbound-cidrs', config.excludeOutboundCidrs);
  }
  // The redirect targets must be distinct, or inbound and outbound connections would land on
  // the same listener and the proxy could not tell them apart.
  if (config.inboundPort === config.outboundPort) {
    throw new UsageError(`--inbound-port: ${config.inboundPort} is also the --outbound-port`);
  }
  if (config.redirectDns && (config.dnsPort === config.inboundPort || config.dnsPort === config.outboundPort)) {
    throw new UsageError(`--dns-port: ${config.dnsPort} is also a proxy TCP listener port`);
  }
}

/**
 * Parse capture flags (without a subcommand) and env into a frozen CaptureConfig.
 * Throws UsageError (exit 2) naming the offending flag.
 */
export function parseCaptureConfig(argv: readonly string[], env: NodeJS.ProcessEnv): CaptureConfig {
  const parsed = parseFlags(argv, captureFlagSpecs());
  // What commander said when asked for help with its output silenced.
  if (parsed.help) throw new UsageError('(outputHelp)');
  return readCaptureConfig(flagValues(parsed.values), env);
}
