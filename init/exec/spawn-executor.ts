// The real executor of pillion-init and of the CNI plugin: node:child_process with an argv array
// (no shell), stdin from `input`, never throwing on a non-zero exit so callers decide what a
// failure means.
//
// Commands run one at a time, synchronously (spawnSync), unless the caller asks for one to run
// alongside this process's event loop (verify's probe clients connect to listeners served here).
// apply, cleanup and the CNI plugin wait for each command anyway, and a synchronous spawn skips
// what an asynchronous one builds per process: a stream and a socket object per pipe, their
// events, and node:net's stream machinery on first use. Measured in a fresh pod-like namespace
// (docs/benchmarks.md), five commands one after another finished sooner than the same five
// started two and three at a time, on both back ends.
//
// Built on child_process rather than execa: `pillion-init apply` runs at every pod start, and
// importing execa's module graph cost about as much as all of apply's programs together
// (docs/benchmarks.md). What apply needs from a process runner (argv, stdin, exit code, output,
// uid/gid, a time limit) is a few lines of spawn.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync, realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { CommandResult, Executor, RunOptions } from './executor.js';

/** Exit code reported when the time limit killed the command (as timeout(1) does). */
export const timedOutExitCode = 124;

/** How a command ended, as either spawn reports it. */
interface Ending {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it could not be started (not found, not executable), if so. */
  readonly spawnError?: string;
  readonly timedOut: boolean;
}

/** The exit code and output callers see: 127 not started, 124 out of time, 128 + signal killed. */
function commandResult(file: string, options: RunOptions, e: Ending): CommandResult {
  if (e.spawnError !== undefined) return { exitCode: 127, stdout: e.stdout, stderr: `${file}: ${e.spawnError}` };
  if (e.timedOut) return { exitCode: timedOutExitCode, stdout: e.stdout, stderr: `${e.stderr}${file}: killed after ${options.timeoutMs ?? 0} ms` };
  if (e.status === null) {
    return { exitCode: 128 + (e.signal === null ? 0 : constants.signals[e.signal]), stdout: e.stdout, stderr: `${e.stderr}${file}: killed by ${e.signal ?? 'a signal'}` };
  }
  return { exitCode: e.status, stdout: e.stdout, stderr: e.stderr };
}

/** What both spawns are given: no input means stdin is /dev/null (one pipe fewer). */
function spawnOptions(options: RunOptions): { stdio: ['ignore' | 'pipe', 'pipe', 'pipe']; uid?: number; gid?: number; timeout?: number; killSignal?: 'SIGKILL' } {
  return {
    stdio: [(options.input ?? '') === '' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
    ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs, killSignal: 'SIGKILL' as const } : {}),
  };
}

/**
 * Run argv with stdin text while this process's event loop goes on; never rejects for the
 * command's sake: a missing binary is exit 127, a timeout exit 124.
 */
export function runProcess(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('empty argv'));
  return new Promise((resolve) => {
    const child = spawn(file, args, spawnOptions(options));
    let stdout = '';
    let stderr = '';
    let spawnError: string | undefined;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => (spawnError = error.message));
    // A command that exits without reading its stdin closes the pipe under us: not our failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
    child.on('close', (status, signal) => {
      const timedOut = options.timeoutMs !== undefined && signal === 'SIGKILL' && status === null;
      resolve(commandResult(file, options, { status, signal, stdout, stderr, timedOut, ...(spawnError === undefined ? {} : { spawnError }) }));
    });
  });
}

/** runProcess's answers from a command run synchronously: this process waits, its event loop stopped. */
export function runProcessSync(argv: readonly string[], options: RunOptions = {}): CommandResult {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty argv');
  const input = options.input ?? '';
  const r = spawnSync(file, args, {
    ...spawnOptions(options),
    ...(input === '' ? {} : { input }),
    encoding: 'utf8',
    // A host's iptables-save can run to megabytes (kube-proxy's rules); spawnSync's default is 1 MiB.
    maxBuffer: Infinity,
  });
  // EPIPE: the command exited without reading all of its stdin, which is not our failure.
  const failure: NodeJS.ErrnoException | undefined = r.error;
  const error = failure?.code === 'EPIPE' ? undefined : failure;
  const timedOut = error?.code === 'ETIMEDOUT';
  return commandResult(file, options, {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    timedOut,
    ...(error === undefined || timedOut ? {} : { spawnError: error.message }),
  });
}

/** The file `name` runs as a command on `path` (links resolved), as execvp finds it; undefined when none. */
export function programOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(':')) {
    const candidate = join(dir === '' ? '.' : dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return realpathSync(candidate);
    } catch {
      // not here: the next directory
    }
  }
  return undefined;
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export class SpawnExecutor implements Executor {
  run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    if (options.alongside === true) return runProcess(argv, options);
    try {
      return Promise.resolve(runProcessSync(argv, options));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  resolveProgram(name: string): Promise<string | undefined> {
    return Promise.resolve(programOnPath(name));
  }

  /** The commands run in this process's own namespace, so its /proc/net is theirs: no process needed. */
  readFiles(paths: readonly string[]): Promise<readonly (string | undefined)[]> {
    try {
      return Promise.resolve(paths.map((path) => readIfExists(path)));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
