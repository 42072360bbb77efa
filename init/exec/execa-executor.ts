// An executor on execa with an argv array (no shell), stdin via `input`, never throwing on a
// non-zero exit so callers decide what a failure means. pillion-init and the CNI plugin run
// SpawnExecutor (spawn-executor.ts) instead: importing execa cost more start-up than apply's
// programs themselves.
import type * as Execa from 'execa';
import type { CommandResult, Executor, RunOptions } from './executor.js';

// Loaded on the first command, not with the library: programs that only parse and plan (the
// injector, `--dry-run`) would otherwise pay for execa's module graph at every start.
let loadedExeca: Promise<typeof Execa> | undefined;

export class ExecaExecutor implements Executor {
  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('empty argv');
    const { execa } = await (loadedExeca ??= import('execa'));
    const result = await execa(file, args, {
      input: options.input ?? '',
      reject: false,
      stripFinalNewline: false,
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
    });
    const exitCode = result.exitCode ?? 127;
    const stderr = result.exitCode === undefined ? `${file}: ${result.shortMessage}` : String(result.stderr);
    return { exitCode, stdout: String(result.stdout), stderr };
  }
}
