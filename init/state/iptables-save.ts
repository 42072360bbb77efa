// Reading iptables-save output: which PILLION_* chains exist (with their rules) and which rules
// elsewhere jump into them. Works for both legacy and nft flavours (same text format).
import { isPillionChain } from '../plan/chains.js';

export interface SavedRule {
  readonly chain: string;
  /** Everything after `-A CHAIN `, exactly as printed (so it can be fed back as `-D CHAIN spec`). */
  readonly spec: string;
}

export interface SavedTable {
  readonly table: string;
  /** All chains declared in the table (built-in and user), in order. */
  readonly chains: readonly string[];
  readonly rules: readonly SavedRule[];
}

export function parseIptablesSave(text: string): SavedTable[] {
  const tables: { table: string; chains: string[]; rules: SavedRule[] }[] = [];
  let current: (typeof tables)[number] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.startsWith('*')) {
      current = { table: line.slice(1), chains: [], rules: [] };
      tables.push(current);
    } else if (current === undefined || line === '' || line.startsWith('#') || line === 'COMMIT') {
      continue;
    } else if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0];
      if (name !== undefined && name !== '') current.chains.push(name);
    } else if (line.startsWith('-A ')) {
      const rest = line.slice(3);
      const space = rest.indexOf(' ');
      const chain = space === -1 ? rest : rest.slice(0, space);
      current.rules.push({ chain, spec: space === -1 ? '' : rest.slice(space + 1) });
    }
  }
  return tables;
}

/** The chain a rule jumps or goes to, if any. */
export function ruleTarget(spec: string): string | undefined {
  return /(?:^|\s)-[jg] (\S+)/.exec(spec)?.[1];
}

/** Rules outside Pillion's chains that lead into them (what cleanup must delete). */
export function pillionJumps(table: SavedTable): SavedRule[] {
  return table.rules.filter((r) => !isPillionChain(r.chain) && isPillionChain(ruleTarget(r.spec) ?? ''));
}

export function pillionChains(table: SavedTable): string[] {
  return table.chains.filter(isPillionChain);
}

export function countRules(text: string): number {
  return text.split('\n').filter((l) => l.startsWith('-A ')).length;
}
