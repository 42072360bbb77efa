// The thin executor of CNI mode: every command init's library asks for runs inside the pod's
// network namespace through the host's nsenter (argv only, restore text on stdin), with
// iptables-restore waiting for the xtables lock, and the whole call bounded in time.
//
// Built on child_process rather than execa: it is the plugin's only process runner, and the
// runtime waits for every millisecond of the plugin's start-up.
import { spawn } from 'node:child_process';
import type { CommandResult, Executor } from '../../init/index.js';

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

export const timedOutExitCode = 124;

/** argv that runs `argv` inside the namespace: restores wait for the xtables lock (legacy; nft accepts and ignores it). */
export function nsenterArgv(netns: string, argv: readonly string[], lockWaitSeconds: number): string[] {
  const restore = /-restore$/.test(argv[0] ?? '') ? [`--wait=${lockWaitSeconds}`] : [];
  return ['nsenter', `--net=${netns}`, '--', ...argv, ...restore];
}

/** Commands that only read: iptables-save of either flavour and family, and `iptables --version`. */
function isReadOnly(argv: readonly string[]): boolean {
  return (argv.length === 1 && /-save$/.test(argv[0] ?? '')) || (argv[0] === 'iptables' && argv[1] === '--version' && argv.length === 2);
}

export class NsenterExecutor implements Executor {
  readonly commands: string[][] = [];
  /**
   * Answers of read-only commands since the last write. Backend detection saves every table and
   * apply then reads the chosen ones again: within one call nobody else writes a sandbox that
   * is still being created, so the second read is answered from here; any write clears it.
   */
  private readonly reads = new Map<string, Promise<CommandResult>>();
  constructor(private readonly options: NsenterOptions) {}

  run(argv: readonly string[], runOptions: { input?: string } = {}): Promise<CommandResult> {
    const key = argv.join('\u0000');
    if (!isReadOnly(argv)) this.reads.clear();
    else if (this.reads.has(key)) return this.reads.get(key)!;
    const full = nsenterArgv(this.options.netns, argv, this.options.lockWaitSeconds);
    this.commands.push(full);
    const timeoutMs = Math.max(MIN_SLICE_MS, this.options.deadline - Date.now());
    const result = runBounded(full, runOptions.input ?? '', timeoutMs);
    if (isReadOnly(argv)) this.reads.set(key, result);
    return result;
  }
}

/** Run argv with stdin text; never throws: a missing binary is exit 127, a timeout exit 124. */
export function runBounded(argv: readonly string[], input: string, timeoutMs: number): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('empty argv'));
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    let spawnError: string | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => (spawnError = `${file}: ${error.message}`));
    // A command that exits without reading its stdin closes the pipe under us: not our failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.on('close', (code, signal) => {
      if (spawnError !== undefined) resolve({ exitCode: 127, stdout, stderr: spawnError });
      else if (signal === 'SIGKILL' && code === null) resolve({ exitCode: timedOutExitCode, stdout, stderr: `${stderr}${file}: killed after ${timeoutMs} ms` });
      else resolve({ exitCode: code ?? 1, stdout, stderr });
    });
  });
}
