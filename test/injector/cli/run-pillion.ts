// Runs the built `pillion` binary as users do: argv array (never a shell string), stdin text.
import { spawnSync } from 'node:child_process';
import { pillionBin, repoRoot } from '../../support/paths.js';

export interface PillionRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runPillion(args: readonly string[], input?: string): PillionRun {
  const result = spawnSync(process.execPath, [pillionBin, ...args], {
    cwd: repoRoot,
    input: input ?? '',
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `file` relative to the repository, as the CLI prints it when run from the repository root. */
export const cliFixture = (name: string): string => `test/fixtures/inject-cli/${name}`;
