// Test double (named as such): one family's iptables tables as `iptables-restore --noflush` and
// `iptables-save` treat them, for the lines apply writes (`*table`, `:CHAIN`, `-N`, `-X`, `-A`,
// `-I CHAIN 1`, `-D`, COMMIT). A transaction the real tool would refuse (creating a chain that
// exists, deleting one that is missing or still jumped to, a jump to a missing chain, deleting a
// rule that is not there) changes nothing and fails with the line's number. The kernel itself is
// tested in the *-netns tests; this lets unit tests follow state across several transactions.
import type { CommandResult } from '../../init/exec/executor.js';
import { ruleTarget } from '../../init/state/iptables-save.js';

interface Table {
  chains: string[];
  rules: { chain: string; spec: string }[];
}

const builtIn: Record<string, string[]> = {
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

const copy = (t: Table): Table => ({ chains: [...t.chains], rules: t.rules.map((r) => ({ ...r })) });

export class RestoreModel {
  private tables = new Map<string, Table>();

  /** What `iptables-save` prints (only tables something created). */
  save(): string {
    const out: string[] = [];
    for (const [name, t] of this.tables) {
      out.push(`*${name}`);
      for (const c of t.chains) out.push(`:${c} ${(builtIn[name] ?? []).includes(c) ? 'ACCEPT' : '-'} [0:0]`);
      for (const c of t.chains) for (const r of t.rules) if (r.chain === c) out.push(`-A ${c} ${r.spec}`);
      out.push('COMMIT');
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }

  /** One `iptables-restore --noflush` run: every table section commits, or nothing does. */
  restore(text: string): CommandResult {
    const next = new Map([...this.tables].map(([name, t]) => [name, copy(t)]));
    let table: Table | undefined;
    const lines = text.split('\n');
    for (const [i, raw] of lines.entries()) {
      const line = raw.trim();
      const fail = (why: string): CommandResult => ({ exitCode: 1, stdout: '', stderr: `iptables-restore: line ${i + 1} failed: ${why}\n` });
      if (line === '' || line.startsWith('#') || line === 'COMMIT') continue;
      if (line.startsWith('*')) {
        const name = line.slice(1);
        table = next.get(name) ?? { chains: [...(builtIn[name] ?? [])], rules: [] };
        next.set(name, table);
        continue;
      }
      if (table === undefined) return fail('no table');
      const t = table;
      const [verb, chain = '', ...rest] = line.split(' ');
      const has = t.chains.includes(chain);
      if (verb?.startsWith(':') === true) {
        const name = verb.slice(1);
        if (t.chains.includes(name)) t.rules = t.rules.filter((r) => r.chain !== name);
        else t.chains.push(name);
      } else if (verb === '-N') {
        if (has) return fail('Chain already exists.');
        t.chains.push(chain);
      } else if (verb === '-X') {
        if (!has) return fail('No chain/target/match by that name.');
        if (t.rules.some((r) => r.chain === chain || ruleTarget(r.spec) === chain)) return fail('Directory not empty.');
        t.chains = t.chains.filter((c) => c !== chain);
      } else if (verb === '-A' || verb === '-I' || verb === '-D') {
        if (!has) return fail('No chain/target/match by that name.');
        const spec = (verb === '-I' ? rest.slice(1) : rest).join(' ');
        const target = ruleTarget(spec) ?? '';
        if (/^[A-Z0-9_]+$/.test(target) && target.includes('_') && !t.chains.includes(target)) return fail(`Couldn't load target \`${target}'`);
        if (verb === '-A') t.rules.push({ chain, spec });
        else if (verb === '-I') {
          // Only `-I CHAIN 1` (what apply writes): before the chain's first rule.
          const first = t.rules.findIndex((r) => r.chain === chain);
          t.rules.splice(first === -1 ? t.rules.length : first, 0, { chain, spec });
        } else {
          const at = t.rules.findIndex((r) => r.chain === chain && r.spec === spec);
          if (at === -1) return fail('Bad rule (does a matching rule exist in that chain?).');
          t.rules.splice(at, 1);
        }
      } else {
        return fail(`unknown line "${line}"`);
      }
    }
    this.tables = next;
    return { exitCode: 0, stdout: '', stderr: '' };
  }
}
