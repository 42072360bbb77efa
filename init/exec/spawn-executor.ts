// The real executor of pillion-init and of the CNI plugin: node:child_process with an argv array
// (no shell), stdin from `input`, never throwing on a non-zero exit so callers decide what a
// failure means.
//
// Built on child_process rather than execa: `pillion-init apply` runs at every pod start, and
// importing execa's module graph cost about as much as all of apply's programs together
// (docs/benchmarks.md). What apply needs from a process runner (argv, stdin, exit code, output,
// uid/gid, a time limit) is a few lines of spawn.
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync, realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { CommandResult, Executor, RunOptions } from './executor.js';

/** Exit code reported when the time limit killed the command (as timeout(1) does). */
export const timedOutExitCode = 124;

/** Run argv with stdin text; never throws: a missing binary is exit 127, a timeout exit 124. */
export function runProcess(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('empty argv'));
  return new Promise((resolve) => {
    // No input: stdin is /dev/null, one pipe (and one stream object) fewer per read.
    const input = options.input ?? '';
    const child = spawn(file, args, {
      stdio: [input === '' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs, killSignal: 'SIGKILL' as const } : {}),
    });
    let stdout = '';
    let stderr = '';
    let spawnError: string | undefined;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => (spawnError = `${file}: ${error.message}`));
    // A command that exits without reading its stdin closes the pipe under us: not our failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
    child.on('close', (code, signal) => {
      if (spawnError !== undefined) resolve({ exitCode: 127, stdout, stderr: spawnError });
      else if (options.timeoutMs !== undefined && signal === 'SIGKILL' && code === null) {
        resolve({ exitCode: timedOutExitCode, stdout, stderr: `${stderr}${file}: killed after ${options.timeoutMs} ms` });
      } else if (code === null) {
        resolve({ exitCode: 128 + (signal === null ? 0 : constants.signals[signal]), stdout, stderr: `${stderr}${file}: killed by ${signal ?? 'a signal'}` });
      } else resolve({ exitCode: code, stdout, stderr });
    });
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
    return runProcess(argv, options);
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
