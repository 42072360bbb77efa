// Rendering the plan as iptables-restore text (and as per-rule argv, for the benchmark's baseline).
// Rules are written in the exact order and form iptables-save prints them, so apply can compare
// what is installed with what it wants by plain text equality.
import { formatCidr, formatPortRange, type IpFamily } from '../values.js';
import { familyPlan } from './planner.js';
import type { CapturePlan, PlannedRule, TablePlan } from './types.js';

/** The rule specification (everything after `-A CHAIN`) as argv tokens. */
export function renderRuleArgs(rule: PlannedRule): string[] {
  const m = rule.match;
  const args: string[] = [];
  if (m.source !== undefined) args.push('-s', formatCidr(m.source));
  if (m.destination !== undefined) {
    if (m.destinationNegated === true) args.push('!');
    args.push('-d', formatCidr(m.destination));
  }
  if (m.inInterface !== undefined) args.push('-i', m.inInterface);
  if (m.outInterface !== undefined) args.push('-o', m.outInterface);
  if (m.protocol !== undefined) args.push('-p', m.protocol);
  if (m.destinationPorts !== undefined) {
    if (m.protocol === undefined) throw new Error(`rule "${rule.tag}" matches ports without a protocol`);
    args.push('-m', m.protocol, '--dport', formatPortRange(m.destinationPorts));
  }
  if (m.uidOwner !== undefined) args.push('-m', 'owner', '--uid-owner', String(m.uidOwner));
  if (m.gidOwner !== undefined) args.push('-m', 'owner', '--gid-owner', String(m.gidOwner));
  args.push('-m', 'comment', '--comment', commentFor(rule));
  const t = rule.target;
  if (t.kind === 'jump') args.push('-j', t.chain);
  else if (t.kind === 'return') args.push('-j', 'RETURN');
  else args.push('-j', 'REDIRECT', '--to-ports', String(t.port));
  return args;
}

export function commentFor(rule: PlannedRule): string {
  return `pillion: ${rule.tag}`;
}

/** Join argv tokens the way iptables-save quotes them (only tokens with spaces need quotes). */
export function joinRuleArgs(args: readonly string[]): string {
  return args
    .map((a) => {
      // Comments are built from our own fixed tags plus validated names: no quotes or newlines.
      if (/["\\\n]/.test(a)) throw new Error(`refusing to render unsafe token ${JSON.stringify(a)}`);
      return /\s/.test(a) || a === '' ? `"${a}"` : a;
    })
    .join(' ');
}

export function renderRuleSpec(rule: PlannedRule): string {
  return joinRuleArgs(renderRuleArgs(rule));
}

/** The desired content of one table: chain name -> rule specs, plus the jump rules. */
export interface DesiredTable {
  readonly table: string;
  readonly chains: ReadonlyMap<string, readonly string[]>;
  readonly jumps: readonly { readonly chain: string; readonly spec: string }[];
}

export function desiredTables(plan: CapturePlan, family: IpFamily): DesiredTable[] {
  const fp = familyPlan(plan, family);
  if (fp === undefined) return [];
  return fp.tables.map((t) => ({
    table: t.table,
    chains: new Map(t.chains.map((c) => [c.name, c.rules.map(renderRuleSpec)])),
    jumps: t.jumps.map((j) => ({ chain: j.chain, spec: renderRuleSpec(j) })),
  }));
}

function renderTable(t: TablePlan): string[] {
  const lines = [`*${t.table}`];
  for (const c of t.chains) lines.push(`:${c.name} - [0:0]`);
  for (const j of t.jumps) lines.push(`-A ${j.chain} ${renderRuleSpec(j)}`);
  for (const c of t.chains) for (const r of c.rules) lines.push(`-A ${c.name} ${renderRuleSpec(r)}`);
  lines.push('COMMIT');
  return lines;
}

/**
 * The plan for one family as iptables-restore input, as it would load into empty tables.
 * (apply adapts the jump rules to what is already installed; see state/converge.ts.)
 */
export function renderRestore(plan: CapturePlan, family: IpFamily): string {
  const fp = familyPlan(plan, family);
  if (fp === undefined) return '';
  return fp.tables.flatMap(renderTable).join('\n') + '\n';
}

/** Dry-run output: IPv4 section then IPv6 section, each headed by a comment line. */
export function renderDryRun(plan: CapturePlan, ipv6Note = ''): string {
  return plan.families
    .map((f) => `# pillion-init: IPv${f.family} (${f.family === 4 ? 'iptables' : 'ip6tables'}-restore --noflush)${f.family === 6 ? ipv6Note : ''}\n${renderRestore(plan, f.family)}`)
    .join('');
}
