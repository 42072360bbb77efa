// What one apply, inspect or cleanup reads of the namespace: every read runs at most once, and the
// ones it will need are started together, before the first answer is awaited. Back end detection,
// the IPv6 decision and the installed state then share the same answers: nothing writes between
// them, since the caller has not changed anything yet.
//
// Where the executor can read the namespace's files (pillion-init runs inside the namespace it
// programs), two reads cost no process: the legacy back end's tables (a save of a namespace
// without any prints nothing, so it is not run) and lo's IPv6 addresses (/proc/net/if_inet6
// instead of `ip`). Through nsenter (the CNI plugin) they are commands.
import { basename } from 'node:path';
import { toolName, type Backend } from '../backend/tools.js';
import type { BackendChoice } from '../config.js';
import type { CommandResult, Executor } from '../exec/executor.js';
import type { IpFamily } from '../values.js';

/** `ip` listing lo's IPv6 addresses: whether IPv6 works on lo, and whether ::6 is already there. */
export const showLoopback6 = ['ip', '-6', '-o', 'addr', 'show', 'dev', 'lo'] as const;

/** What lo carries of IPv6. */
export interface Loopback {
  /** lo has an IPv6 address: IPv6 is enabled there. */
  readonly ipv6: boolean;
  /** ::6/128, the proxy's inbound source address, is on lo. */
  readonly source6: boolean;
}

/** The legacy back end's tables in this namespace, as its save reads them. */
const legacyTables: Record<IpFamily, string> = { 4: '/proc/net/ip_tables_names', 6: '/proc/net/ip6_tables_names' };

export class Reads {
  private readonly answers = new Map<string, Promise<unknown>>();
  constructor(private readonly executor: Executor) {}

  private once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let answer = this.answers.get(key) as Promise<T> | undefined;
    if (answer === undefined) {
      answer = read();
      this.answers.set(key, answer);
    }
    return answer;
  }

  private readonly files = new Map<string, Promise<{ text: string | undefined } | undefined>>();

  /** Reads the files not read yet, all in one go (through nsenter: one process). */
  private readFiles(paths: readonly string[]): void {
    const readFiles = this.executor.readFiles?.bind(this.executor);
    const missing = [...new Set(paths)].filter((p) => !this.files.has(p));
    if (readFiles === undefined || missing.length === 0) return;
    const all = readFiles(missing).then((texts) => texts.map((text) => ({ text })), () => undefined);
    missing.forEach((path, i) => this.files.set(path, all.then((texts) => texts?.[i])));
  }

  /** The file's text, undefined when it does not exist; the whole answer undefined (unknown) when it could not be read. */
  private file(path: string): Promise<{ text: string | undefined } | undefined> {
    this.readFiles([path]);
    return this.files.get(path) ?? Promise.resolve(undefined);
  }

  /** True when the namespace's files show no legacy table of `family`; false when one exists or that cannot be told without a save. */
  async hasNoLegacyTable(family: IpFamily): Promise<boolean> {
    const names = await this.file(legacyTables[family]);
    return names !== undefined && (names.text ?? '').trim() === '';
  }

  save(backend: Backend, family: IpFamily): Promise<CommandResult> {
    const tool = toolName('save', backend, family);
    // Commands start right away, in the order they are asked for (files are read first).
    if (backend !== 'legacy' || this.executor.readFiles === undefined) return this.once(tool, () => this.executor.run([tool]));
    // No legacy table here (or not even the module): the save would print nothing.
    return this.once(tool, async () => ((await this.hasNoLegacyTable(family)) ? { exitCode: 0, stdout: '', stderr: '' } : this.executor.run([tool])));
  }

  /**
   * `iptables --version`, which names the mode of the `iptables` alternative. When the executor can
   * tell which file `iptables` runs and that is one of the two multi-call binaries, that file
   * names the mode without running it ("iptables → /usr/sbin/xtables-nft-multi (nf_tables)").
   */
  iptablesVersion(): Promise<CommandResult> {
    const run = (): Promise<CommandResult> => this.executor.run(['iptables', '--version']);
    if (this.executor.resolveProgram === undefined) return this.once('iptables --version', run);
    const resolve = this.executor.resolveProgram.bind(this.executor);
    return this.once('iptables --version', async () => {
      const program = await resolve('iptables').catch(() => undefined);
      const mode = { 'xtables-nft-multi': 'nf_tables', 'xtables-legacy-multi': 'legacy' }[basename(program ?? '')];
      return mode === undefined ? run() : { exitCode: 0, stdout: `iptables → ${program} (${mode})\n`, stderr: '' };
    });
  }

  loopback6(): Promise<Loopback> {
    const shown = async (): Promise<Loopback> => {
      const r = await this.executor.run(showLoopback6);
      return { ipv6: r.exitCode === 0 && /\sinet6\s/.test(r.stdout), source6: r.exitCode === 0 && r.stdout.split(/\s+/).includes('::6/128') };
    };
    if (this.executor.readFiles === undefined) return this.once('lo', shown);
    return this.once('lo', async () => {
      const inet6 = await this.file('/proc/net/if_inet6');
      if (inet6 === undefined) return shown();
      // "<32 hex digits> <ifindex> <prefix length> <scope> <flags> <name>"; no file: no IPv6 at all.
      const lo = (inet6.text ?? '').split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[5] === 'lo');
      return { ipv6: lo.length > 0, source6: lo.some((f) => f[0] === '00000000000000000000000000000006' && f[2] === '80') };
    });
  }

  /** The files of prefetch's reads, in one read: the legacy tables of the families about to be saved, and lo's addresses. */
  prefetchFiles(choice: BackendChoice, families: readonly IpFamily[], loopback: boolean): void {
    const legacyFamilies = choice === 'auto' ? ([4, 6] as const) : choice === 'legacy' ? families : [];
    this.readFiles([...legacyFamilies.map((f) => legacyTables[f]), ...(loopback ? ['/proc/net/if_inet6'] : [])]);
  }

  /**
   * Starts at once every read that settling the back end (`choice`), the families (of
   * `families`) and lo's IPv6 address needs. Detection counts the rules of both families in both
   * back ends; a chosen back end needs only its own saves.
   */
  prefetch(choice: BackendChoice, families: readonly IpFamily[], loopback: boolean): void {
    this.prefetchFiles(choice, families, loopback);
    const started: Promise<unknown>[] = [];
    for (const backend of choice === 'auto' ? (['legacy', 'nft'] as const) : [choice]) {
      for (const family of choice === 'auto' ? ([4, 6] as const) : families) started.push(this.save(backend, family));
    }
    if (choice === 'auto') started.push(this.iptablesVersion());
    if (loopback) started.push(this.loopback6());
    // An answer nobody turns out to need must not surface as an unhandled rejection.
    for (const p of started) void p.catch(() => undefined);
  }
}
