// A small interpreter for the plan: walks a packet through Pillion's chains the way the kernel's
// nat table would on a connection's first packet. It only knows Pillion's own rules; other rules
// on the host are outside the plan and are not modelled.
import { familyPlan } from '../plan/planner.js';
import type { CapturePlan, PlannedRule, RuleMatch, TablePlan } from '../plan/types.js';
import { cidrContains, type IpFamily } from '../values.js';

export interface Packet {
  readonly family: IpFamily;
  readonly protocol: 'tcp' | 'udp';
  readonly source: string | undefined;
  readonly destination: string;
  readonly destinationPort: number;
  /** Owner of the sending socket; only locally generated packets have one (OUTPUT). */
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  /** Set for inbound (PREROUTING) packets. */
  readonly inInterface: string | undefined;
  /** Set for outbound (OUTPUT) packets. */
  readonly outInterface: string | undefined;
  readonly inbound: boolean;
}

export interface TraceStep {
  readonly rule: PlannedRule;
  readonly index: number;
}

export type Verdict =
  | { readonly kind: 'redirect'; readonly port: number; readonly chain: string }
  | { readonly kind: 'accept'; readonly reason: string };

export interface Explanation {
  readonly steps: readonly TraceStep[];
  readonly verdict: Verdict;
}

export function ruleMatches(m: RuleMatch, p: Packet): boolean {
  if (m.source !== undefined && (p.source === undefined || !cidrContains(m.source, p.source))) return false;
  if (m.destination !== undefined && cidrContains(m.destination, p.destination) === (m.destinationNegated === true)) return false;
  if (m.inInterface !== undefined && p.inInterface !== m.inInterface) return false;
  if (m.outInterface !== undefined && p.outInterface !== m.outInterface) return false;
  if (m.protocol !== undefined && p.protocol !== m.protocol) return false;
  const ports = m.destinationPorts;
  if (ports !== undefined && (p.destinationPort < ports.first || p.destinationPort > ports.last)) return false;
  if (m.uidOwner !== undefined && p.uid !== m.uidOwner) return false;
  if (m.gidOwner !== undefined && p.gid !== m.gidOwner) return false;
  return true;
}

type ChainResult = { kind: 'continue' } | { kind: 'redirect'; port: number; chain: string };

function walk(table: TablePlan, chain: string, rules: readonly PlannedRule[], p: Packet, steps: TraceStep[], depth: number): ChainResult {
  if (depth > 16) throw new Error(`chain nesting too deep at ${chain}: the plan has a loop`);
  for (const [i, rule] of rules.entries()) {
    if (!ruleMatches(rule.match, p)) continue;
    steps.push({ rule, index: i + 1 });
    const t = rule.target;
    if (t.kind === 'return') return { kind: 'continue' };
    if (t.kind === 'redirect') return { kind: 'redirect', port: t.port, chain };
    const next = table.chains.find((c) => c.name === t.chain);
    if (next === undefined) throw new Error(`rule in ${chain} jumps to unknown chain ${t.chain}`);
    const result = walk(table, next.name, next.rules, p, steps, depth + 1);
    if (result.kind === 'redirect') return result;
  }
  return { kind: 'continue' };
}

export function simulatePacket(plan: CapturePlan, p: Packet): Explanation {
  const fp = familyPlan(plan, p.family);
  if (fp === undefined) return { steps: [], verdict: { kind: 'accept', reason: `IPv${p.family} is not captured (--ipv6 off)` } };
  const steps: TraceStep[] = [];
  const builtin = p.inbound ? 'PREROUTING' : 'OUTPUT';
  for (const table of fp.tables) {
    const jumps = table.jumps.filter((j) => j.chain === builtin);
    const result = walk(table, builtin, jumps, p, steps, 0);
    if (result.kind === 'redirect') return { steps, verdict: { kind: 'redirect', port: result.port, chain: result.chain } };
  }
  const last = steps.at(-1);
  const reason = last === undefined ? 'no Pillion rule matches' : `"pillion: ${last.rule.tag}" returned it`;
  return { steps, verdict: { kind: 'accept', reason } };
}
