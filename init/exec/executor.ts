// The only door to the outside world for apply/cleanup/verify/backend detection: run a command
// given as an argv array (never a shell string) with optional stdin, and, where the executor can,
// read a file of the namespace. The CLI picks the real one
// once; tests use the recording one to see exactly which commands and restore text would run.

export interface RunOptions {
  /** Text written to the command's stdin (iptables-restore input). */
  readonly input?: string;
  /** Run as this uid/gid (verify's probes act as the proxy or as an ordinary app user). */
  readonly uid?: number;
  readonly gid?: number;
  readonly timeoutMs?: number;
  /**
   * The command must run while this process keeps serving (verify's probe clients connect to
   * listeners in this process). Without it an executor may run the command synchronously.
   */
  readonly alongside?: boolean;
}

export interface CommandResult {
  /** Process exit code; 127 when the binary could not be started (not found / not executable). */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Executor {
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /**
   * Optional: files' texts as the commands see them (the namespace's /proc/net), each undefined
   * when the file does not exist; rejects when they cannot be read (callers then run commands).
   * pillion-init reads them in-process; the CNI plugin's nsenter reads them all with one process.
   */
  readFiles?(paths: readonly string[]): Promise<readonly (string | undefined)[]>;
  /** Optional: the file a command named `name` runs (found on PATH, links resolved), undefined when none. */
  resolveProgram?(name: string): Promise<string | undefined>;
}

export interface RecordedCall {
  readonly argv: readonly string[];
  readonly input: string | undefined;
}

export type Responder = (argv: readonly string[], input: string | undefined) => CommandResult | undefined;

/**
 * Test double (named as such): records every call and answers from `respond`; a call the
 * responder does not answer behaves like a missing binary (exit 127).
 */
export class RecordingExecutor implements Executor {
  readonly calls: RecordedCall[] = [];
  constructor(private readonly respond: Responder) {}

  run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ argv: [...argv], input: options.input });
    const answer = this.respond(argv, options.input);
    return Promise.resolve(answer ?? { exitCode: 127, stdout: '', stderr: `${argv[0] ?? ''}: not found (recording executor)` });
  }
}

export const ok = (stdout = ''): CommandResult => ({ exitCode: 0, stdout, stderr: '' });
