// The iptables programs of each back end and family.
import type { IpFamily } from '../values.js';

export type Backend = 'legacy' | 'nft';

export function toolName(tool: 'save' | 'restore', backend: Backend, family: IpFamily): string {
  return `${family === 4 ? 'iptables' : 'ip6tables'}-${backend}-${tool}`;
}
