// One iptables-restore --noflush transaction that takes a family's tables from what is installed
// (iptables-save) to what is desired, touching nothing but Pillion's chains and the rules that
// jump into them. Used by apply (desired = plan), cleanup (desired = nothing) and rollback
// (desired = what was installed before).
//
// Why this works atomically: with --noflush, declaring `:CHAIN - [0:0]` creates the chain or,
// when it exists, flushes it; the whole table section is committed at COMMIT or not at all.
//
// buildFreshTransaction is the same plan for a namespace assumed to hold none of Pillion's chains:
// it creates them with `-N`, which fails when the chain exists, so a wrong assumption makes the
// restore refuse the whole section and change nothing. It deletes no chain: under nf_tables a
// commit that deletes one waits for the kernel's RCU grace period, ~10 ms here.
import { alwaysPlanned, chainTable } from '../plan/chains.js';
import type { DesiredTable } from '../plan/render.js';
import { pillionChains, pillionJumps, type SavedRule, type SavedTable } from './iptables-save.js';

export interface TableChange {
  readonly table: string;
  readonly lines: readonly string[];
}

function jumpKey(r: { chain: string; spec: string }): string {
  return `${r.chain}\u0000${r.spec}`;
}

function isUpToDate(current: SavedTable | undefined, desired: DesiredTable | undefined): boolean {
  const curChains = current === undefined ? [] : pillionChains(current);
  const curJumps = current === undefined ? [] : pillionJumps(current);
  const wantChains = desired === undefined ? [] : [...desired.chains.keys()];
  const wantJumps = desired?.jumps ?? [];
  if (curChains.length !== wantChains.length || !wantChains.every((c) => curChains.includes(c))) return false;
  const cur = curJumps.map(jumpKey).sort();
  const want = wantJumps.map(jumpKey).sort();
  if (cur.length !== want.length || cur.some((k, i) => k !== want[i])) return false;
  for (const [name, specs] of desired?.chains ?? new Map<string, readonly string[]>()) {
    const installed = (current?.rules ?? []).filter((r) => r.chain === name).map((r) => r.spec);
    if (installed.length !== specs.length || installed.some((s, i) => s !== specs[i])) return false;
  }
  return true;
}

/** `create`: the chains are created with `-N` (the fresh transaction), not declared. */
function changeTable(table: string, current: SavedTable | undefined, desired: DesiredTable | undefined, create = false): TableChange | undefined {
  if (isUpToDate(current, desired)) return undefined;
  const wantChains = desired === undefined ? [] : [...desired.chains.keys()];
  const stale = (current === undefined ? [] : pillionChains(current)).filter((c) => !wantChains.includes(c));
  const lines = [`*${table}`];
  for (const name of [...wantChains, ...stale]) lines.push(create ? `-N ${name}` : `:${name} - [0:0]`);

  // Jumps: keep exactly one copy of each desired jump, delete everything else leading into PILLION_*.
  const wanted = new Set((desired?.jumps ?? []).map(jumpKey));
  const seen = new Set<string>();
  const currentJumps: SavedRule[] = current === undefined ? [] : pillionJumps(current);
  for (const j of currentJumps) {
    const key = jumpKey(j);
    if (wanted.has(key) && !seen.has(key)) {
      seen.add(key);
      continue;
    }
    lines.push(`-D ${j.chain} ${j.spec}`);
  }
  // Missing jumps go to the top of their built-in chain (inserted in reverse to keep plan order),
  // so rules someone else appended later cannot pre-empt the capture.
  const missing = (desired?.jumps ?? []).filter((j) => !seen.has(jumpKey(j)));
  for (const j of [...missing].reverse()) lines.push(`-I ${j.chain} 1 ${j.spec}`);

  for (const [name, specs] of desired?.chains ?? new Map<string, readonly string[]>()) {
    for (const spec of specs) lines.push(`-A ${name} ${spec}`);
  }
  for (const name of stale) lines.push(`-X ${name}`);
  lines.push('COMMIT');
  return { table, lines };
}

/** Restore text converging `current` to `desired`; '' when everything is already as desired. */
export function buildConvergeTransaction(current: readonly SavedTable[], desired: readonly DesiredTable[]): string {
  const tables = new Set<string>();
  for (const t of current) if (pillionChains(t).length > 0 || pillionJumps(t).length > 0) tables.add(t.table);
  for (const t of desired) tables.add(t.table);
  const changes: TableChange[] = [];
  for (const table of tables) {
    const change = changeTable(table, current.find((t) => t.table === table), desired.find((t) => t.table === table));
    if (change !== undefined) changes.push(change);
  }
  return changes.length === 0 ? '' : changes.flatMap((c) => c.lines).join('\n') + '\n';
}

/**
 * The plan's transaction for a family where none of Pillion's chains exists (see the header);
 * undefined when the plan lacks a chain every plan has (plan/chains.ts) or has another table.
 */
export function buildFreshTransaction(desired: readonly DesiredTable[]): string | undefined {
  const [only, ...others] = desired;
  if (only === undefined || others.length > 0 || only.table !== chainTable || !alwaysPlanned.every((c) => only.chains.has(c))) return undefined;
  return (changeTable(only.table, undefined, only, true)?.lines ?? []).join('\n') + '\n';
}

/** How many rules a transaction adds, inserts or deletes, and chains it deletes. */
export function countRuleChanges(text: string): number {
  return text.split('\n').filter((l) => /^-[AIDX] /.test(l)).length;
}

/** What is installed now, as a desired state (rollback target after a later family failed). */
export function installedAsDesired(current: readonly SavedTable[]): DesiredTable[] {
  return current
    .filter((t) => pillionChains(t).length > 0 || pillionJumps(t).length > 0)
    .map((t) => ({
      table: t.table,
      chains: new Map(pillionChains(t).map((name) => [name, t.rules.filter((r) => r.chain === name).map((r) => r.spec)])),
      jumps: pillionJumps(t).map((r) => ({ chain: r.chain, spec: r.spec })),
    }));
}
