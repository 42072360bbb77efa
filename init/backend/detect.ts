// Which iptables flavour to program. Rules in the legacy (x_tables) and nf_tables back ends are
// both evaluated by the kernel but are invisible to each other's tools, so Pillion must write
// where the host (or the pod's other init containers) already writes: an existing rule set wins;
// otherwise the `iptables` alternative's own mode decides.
import { Reads } from '../apply/reads.js';
import type { BackendChoice } from '../config.js';
import type { Executor } from '../exec/executor.js';
import { countRules } from '../state/iptables-save.js';
import type { Backend } from './tools.js';

export { toolName, type Backend } from './tools.js';

export interface BackendDecision {
  readonly backend: Backend;
  readonly reason: string;
}

export interface BackendEvidence {
  /** Rules found by iptables-legacy-save + ip6tables-legacy-save; undefined when they cannot run. */
  readonly legacyRules: number | undefined;
  readonly nftRules: number | undefined;
  /**
   * `iptables --version` output, e.g. "iptables v1.8.9 (nf_tables)", or what the file `iptables`
   * runs says of the mode ("iptables → /usr/sbin/xtables-nft-multi (nf_tables)"); undefined when missing.
   */
  readonly iptablesVersion: string | undefined;
}

/** Pure decision from gathered evidence (unit-tested with a table of cases). */
export function decideBackend(e: BackendEvidence): BackendDecision {
  const legacy = e.legacyRules ?? 0;
  const nft = e.nftRules ?? 0;
  if (legacy > 0 || nft > 0) {
    const counts = `${legacy} legacy rule(s), ${nft} nft rule(s) installed`;
    return legacy > nft
      ? { backend: 'legacy', reason: `existing rules win: ${counts}` }
      : { backend: 'nft', reason: `existing rules win: ${counts}` };
  }
  if (e.iptablesVersion !== undefined) {
    if (/\(legacy\)/.test(e.iptablesVersion)) return { backend: 'legacy', reason: `no rules installed; "${e.iptablesVersion.trim()}" is legacy` };
    if (/\(nf_tables\)/.test(e.iptablesVersion)) return { backend: 'nft', reason: `no rules installed; "${e.iptablesVersion.trim()}" is nf_tables` };
  }
  if (e.nftRules === undefined && e.legacyRules !== undefined) return { backend: 'legacy', reason: 'only the legacy tools are usable' };
  return { backend: 'nft', reason: 'no rules installed and no iptables alternative to follow; nf_tables is the modern default' };
}


async function countWith(reads: Reads, backend: Backend): Promise<number | undefined> {
  const saves = await Promise.all(([4, 6] as const).map((family) => reads.save(backend, family)));
  let total: number | undefined;
  for (const r of saves) if (r.exitCode === 0) total = (total ?? 0) + countRules(r.stdout);
  return total;
}

function requested(choice: Backend): BackendDecision {
  return { backend: choice, reason: 'requested with --backend' };
}

/** The back end from reads shared with the rest of the caller's work (apply, inspect). */
export async function detectBackend(choice: BackendChoice, reads: Reads): Promise<BackendDecision> {
  if (choice !== 'auto') return requested(choice);
  // Read-only and independent: run together (the CNI plugin's ADD waits for every one of them).
  const [legacyRules, nftRules, version] = await Promise.all([countWith(reads, 'legacy'), countWith(reads, 'nft'), reads.iptablesVersion()]);
  return decideBackend({ legacyRules, nftRules, iptablesVersion: version.exitCode === 0 ? version.stdout : undefined });
}

/**
 * The back end when the nft saves cannot change it: chosen with --backend, or (auto) no legacy
 * table exists and `iptables` is the nf_tables one, so nft wins whether or not it has rules.
 * Undefined when only the saves can tell.
 */
export async function detectBackendWithoutSaves(choice: BackendChoice, reads: Reads): Promise<BackendDecision | undefined> {
  if (choice !== 'auto') return requested(choice);
  const [legacy4, legacy6, version] = await Promise.all([reads.hasNoLegacyTable(4), reads.hasNoLegacyTable(6), reads.iptablesVersion()]);
  if (!legacy4 || !legacy6 || version.exitCode !== 0 || !/\(nf_tables\)/.test(version.stdout)) return undefined;
  return { backend: 'nft', reason: `no legacy table; "${version.stdout.trim()}" is nf_tables` };
}

export async function resolveBackend(choice: BackendChoice, executor: Executor): Promise<BackendDecision> {
  const reads = new Reads(executor);
  reads.prefetch(choice, [], false);
  return detectBackend(choice, reads);
}
