// The thin executor of CNI mode: every command init's library asks for runs inside the pod's
// network namespace through the host's nsenter (argv only, restore text on stdin), with
// iptables-restore waiting for the xtables lock, and the whole call bounded in time. Processes
// are run by init's child_process runner, one at a time and synchronously, as pillion-init's own
// are: the plugin has nothing else to do while a command runs.
import { programOnPath, runProcessSync, type CommandResult, type Executor } from '../../init/index.js';

export interface NsenterOptions {
  /** Path of the namespace (CNI_NETNS). */
  readonly netns: string;
  /** Epoch ms after which commands get only the minimum slice below. */
  readonly deadline: number;
  /** Seconds iptables-restore waits for the xtables lock held by another writer. */
  readonly lockWaitSeconds: number;
}

/** Each command gets what is left of the budget, but never less than this: a rollback after a timeout must still run. */
const MIN_SLICE_MS = 1000;

/** argv that runs `argv` inside the namespace: restores wait for the xtables lock (legacy; nft accepts and ignores it). */
export function nsenterArgv(netns: string, argv: readonly string[], lockWaitSeconds: number): string[] {
  const restore = /-restore$/.test(argv[0] ?? '') ? [`--wait=${lockWaitSeconds}`] : [];
  return ['nsenter', `--net=${netns}`, '--', ...argv, ...restore];
}

export class NsenterExecutor implements Executor {
  readonly commands: string[][] = [];
  constructor(private readonly options: NsenterOptions) {}

  run(argv: readonly string[], runOptions: { input?: string } = {}): Promise<CommandResult> {
    const full = nsenterArgv(this.options.netns, argv, this.options.lockWaitSeconds);
    this.commands.push(full);
    const timeoutMs = Math.max(MIN_SLICE_MS, this.options.deadline - Date.now());
    return Promise.resolve(runProcessSync(full, { ...(runOptions.input === undefined ? {} : { input: runOptions.input }), timeoutMs }));
  }

  /**
   * The namespace's files, all with one process: `head -v` prints each under a "==> PATH <==" line
   * and names a missing one on stderr. Anything else (no head, another wording) rejects, and the
   * caller runs its commands instead.
   */
  async readFiles(paths: readonly string[]): Promise<readonly (string | undefined)[]> {
    const r = await this.run(['head', '-v', '-c', '1048576', '--', ...paths]);
    const parts = r.stdout.split(/^==> (.*) <==\n/m);
    const texts = new Map<string, string>();
    for (let i = 1; i < parts.length; i += 2) texts.set(parts[i] ?? '', parts[i + 1] ?? '');
    return paths.map((path) => {
      if (texts.has(path)) return texts.get(path);
      if (r.stderr.includes(`'${path}'`) && r.stderr.includes('No such file or directory')) return undefined;
      throw new Error(`head could not read ${path} in the namespace (exit ${r.exitCode}): ${r.stderr.trim()}`);
    });
  }

  /** nsenter --net changes only the network namespace: programs are found on this process's PATH, in its file system. */
  resolveProgram(name: string): Promise<string | undefined> {
    return Promise.resolve(programOnPath(name));
  }
}
