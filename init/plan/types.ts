// The capture plan: plain data describing every chain and rule Pillion owns, per address family.
// Rendering (iptables-restore text), applying, cleanup, explain and verify all derive from it.
import type { Cidr, IpFamily, PortRange } from '../values.js';

export type TableName = 'nat';

/** What a rule matches. Absent fields match anything. Rendered in iptables-save's own order. */
export interface RuleMatch {
  readonly source?: Cidr;
  readonly destination?: Cidr;
  /** `! -d`: the rule matches when the destination is NOT in `destination`. */
  readonly destinationNegated?: boolean;
  readonly inInterface?: string;
  readonly outInterface?: string;
  readonly protocol?: 'tcp' | 'udp';
  readonly destinationPorts?: PortRange;
  readonly uidOwner?: number;
  readonly gidOwner?: number;
}

export type RuleTarget =
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'return' }
  | { readonly kind: 'redirect'; readonly port: number };

export interface PlannedRule {
  readonly chain: string;
  readonly match: RuleMatch;
  readonly target: RuleTarget;
  /** Short tag rendered as `-m comment --comment "pillion: <tag>"`: visible in iptables-save. */
  readonly tag: string;
  /** One sentence for humans (explain): what this rule does and why. */
  readonly description: string;
}

export interface PlannedChain {
  readonly name: string;
  readonly rules: readonly PlannedRule[];
}

export interface TablePlan {
  readonly table: TableName;
  /** Pillion's own chains, in declaration order. */
  readonly chains: readonly PlannedChain[];
  /** Rules in built-in chains (PREROUTING, OUTPUT) that jump into Pillion's chains, in order. */
  readonly jumps: readonly PlannedRule[];
}

export interface FamilyPlan {
  readonly family: IpFamily;
  readonly tables: readonly TablePlan[];
}

export interface CapturePlan {
  /** IPv4 first, then IPv6 when the config does not switch it off. */
  readonly families: readonly FamilyPlan[];
}
