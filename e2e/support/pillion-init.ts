// Running the real, built pillion-init CLI inside a namespace, as the init container would: the
// bundle the init image ships (test/build/bundles.test.ts holds it to dist/'s output).
import { existsSync } from 'node:fs';
import { shippedPillionInitBin } from '../../test/support/paths.js';
import { inNamespace, runCommand, type RunResult } from './netns.js';

/** Documented exit codes of pillion-init. */
export const exitCodes = { ok: 0, failure: 1, usage: 2, verifyFailed: 126 } as const;

/** Throws a precise message when the CLI has not been built (a test must fail, not pass vacuously). */
export function assertPillionInitBuilt(): void {
  if (!existsSync(shippedPillionInitBin)) {
    throw new Error(`${shippedPillionInitBin} does not exist; build first with: npm run build`);
  }
}

/**
 * The environment pillion-init runs with: the test's own, minus PILLION_* variables (pillion-init
 * reads its flags from them too, so a stray one in the developer's shell would change the rules
 * under test).
 */
function cleanEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('PILLION_')) env[key] = value;
  }
  return env;
}

/** `ip netns exec NS node dist/bundle/pillion-init/pillion-init.js ARGS...` */
export async function runPillionInit(ns: string, args: readonly string[]): Promise<RunResult> {
  assertPillionInitBuilt();
  return runCommand(inNamespace(ns, [process.execPath, shippedPillionInitBin, ...args]), { timeoutMs: 30_000, env: cleanEnvironment() });
}

/** Describe a run for assertion messages: the command, exit code and stderr. */
export function describeRun(args: readonly string[], result: RunResult): string {
  return `pillion-init ${args.join(' ')} exited ${result.exitCode}\nstderr:\n${result.stderr}\nstdout:\n${result.stdout}`;
}
