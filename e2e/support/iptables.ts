// Rule snapshots of a namespace, for "before vs after" comparisons, read with the same backend
// pillion-init wrote with. Always run inside a namespace the test created, never on the host.
import { inNamespace, runChecked } from './netns.js';

export type Backend = 'legacy' | 'nft';
export type Family = 4 | 6;

/** The iptables-save / iptables-restore binaries for a backend and family. */
export function iptablesTool(backend: Backend, family: Family, tool: 'save' | 'restore' | 'iptables'): string {
  const base = family === 4 ? 'iptables' : 'ip6tables';
  return tool === 'iptables' ? `${base}-${backend}` : `${base}-${backend}-${tool}`;
}

/**
 * iptables-save output reduced to what defines behaviour: comment lines (timestamps, the "legacy
 * tables present" warning) dropped, and chain counters `[packets:bytes]` zeroed, since traffic
 * between two snapshots changes them and nothing else.
 */
export function normaliseSave(text: string): string {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]/g, '[0:0]'))
    .join('\n');
}

/** The normalised iptables-save of one family in `ns`. */
export async function saveRules(ns: string, backend: Backend, family: Family): Promise<string> {
  return normaliseSave(await runChecked(inNamespace(ns, [iptablesTool(backend, family, 'save')])));
}

/**
 * `nft list ruleset` reduced to what can change a packet's fate: rule counters zeroed, and base
 * chains with no rules and policy accept dropped (then tables left with nothing in them).
 *
 * Why drop them: iptables-nft creates built-in chains lazily, the first time a rule goes into
 * them, and cannot delete them again, so after apply + cleanup an empty `chain PREROUTING { type
 * nat hook prerouting ...; policy accept; }` may exist that did not before. iptables-nft-save
 * prints every built-in chain either way, and an empty accept chain never changes a verdict.
 * Everything else (user chains, rules, sets, non-accept policies) is compared exactly.
 */
export function normaliseNftRuleset(text: string): string {
  const out: string[] = [];
  let table: string[] | undefined;
  let tableHasContent = false;
  let chain: string[] | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/counter packets \d+ bytes \d+/g, 'counter packets 0 bytes 0');
    if (line.trim() === '') continue;
    if (table === undefined) {
      if (/^table /.test(line)) {
        table = [line];
        tableHasContent = false;
      } else {
        out.push(line);
      }
      continue;
    }
    if (chain !== undefined) {
      chain.push(line);
      if (line === '\t}') {
        const body = chain.slice(1, -1).map((l) => l.trim());
        const neutral = body.length === 1 && /^type .* hook .*; policy accept;$/.test(body[0] ?? '');
        if (!neutral) {
          table.push(...chain);
          tableHasContent = true;
        }
        chain = undefined;
      }
      continue;
    }
    if (/^\tchain /.test(line)) {
      chain = [line];
    } else if (line === '}') {
      if (tableHasContent) out.push(...table, line);
      table = undefined;
    } else {
      table.push(line);
      tableHasContent = true;
    }
  }
  return out.join('\n');
}

/** The normalised `nft list ruleset` of `ns` (see normaliseNftRuleset). */
export async function nftRuleset(ns: string): Promise<string> {
  return normaliseNftRuleset(await runChecked(inNamespace(ns, ['nft', 'list', 'ruleset'])));
}

/** Load iptables-restore text (on stdin, --noflush so nothing else is touched) in `ns`. */
export async function restoreRules(ns: string, backend: Backend, family: Family, text: string): Promise<void> {
  await runChecked(inNamespace(ns, [iptablesTool(backend, family, 'restore'), '--noflush']), { input: text });
}

/** Both families' normalised rules, for one-line equality checks. */
export async function saveBothFamilies(ns: string, backend: Backend): Promise<Record<Family, string>> {
  return { 4: await saveRules(ns, backend, 4), 6: await saveRules(ns, backend, 6) };
}

/** The families whose nat table in `ns` holds a chain whose name contains `chain`, by either backend. */
export async function capturedFamilies(ns: string, chain: string): Promise<Family[]> {
  const nft = await nftRuleset(ns);
  const tables = nft.split(/^table /m);
  const families: Family[] = [];
  for (const family of [4, 6] as const) {
    const nftHas = tables.some((t) => t.startsWith(family === 4 ? 'ip nat' : 'ip6 nat') && t.includes(chain));
    if (nftHas || (await saveRules(ns, 'legacy', family)).includes(chain)) families.push(family);
  }
  return families;
}
