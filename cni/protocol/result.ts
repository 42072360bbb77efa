// The previous result: read for the pod's address families, written back unchanged.
import { ipFamilyOf, type IpFamily } from '../../init/index.js';
import { CniError, specCodes } from './errors.js';
import type { NetworkConfig } from './request.js';

/** ADD and CHECK of a chained plugin need the primary plugin's result. */
export function requirePrevResult(conf: NetworkConfig, command: string): Readonly<Record<string, unknown>> {
  if (conf.prevResult === undefined) {
    throw new CniError(
      specCodes.invalidNetworkConfig,
      `${command} needs "prevResult": pillion-cni is a chained plugin`,
      'list it after the primary network plugin in a .conflist',
    );
  }
  return conf.prevResult;
}

/** The address families of the pod's IPs (both for a dual-stack pod), IPv4 first. */
export function familiesOf(prevResult: Readonly<Record<string, unknown>>): IpFamily[] {
  const ips = prevResult.ips ?? [];
  if (!Array.isArray(ips)) throw new CniError(specCodes.invalidNetworkConfig, 'prevResult "ips" must be a list');
  const families = new Set<IpFamily>();
  for (const [index, entry] of ips.entries()) {
    const address = (entry as { address?: unknown } | null)?.address;
    const ip = typeof address === 'string' ? address.split('/')[0] ?? '' : '';
    // Not node:net's isIP: its first call compiled a regular expression for 4.6 ms of every ADD.
    const family = ipFamilyOf(ip);
    if (family === undefined) throw new CniError(specCodes.invalidNetworkConfig, `prevResult ips[${index}].address ${JSON.stringify(address)} is not an IP address with prefix`);
    families.add(family);
  }
  return [...families].sort();
}

/** The previous result, unchanged; cniVersion added only when the runtime left it out. */
export function formatPassThrough(prevResult: Readonly<Record<string, unknown>>, cniVersion: string): string {
  const result = prevResult.cniVersion === undefined ? { cniVersion, ...prevResult } : prevResult;
  return `${JSON.stringify(result)}\n`;
}
