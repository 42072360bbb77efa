// Gate for tests that need root, a kernel feature or a system binary.
// On a laptop they skip with a printed reason; under CI=true a would-be skip is a failure,
// so CI can never go green by silently not running the real-kernel tests.
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** Returns the reason a privileged test cannot run here, or undefined when it can. */
export function privilegedBlocker(binaries: readonly string[] = []): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and iptables)';
  for (const bin of binaries) {
    const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', bin], { encoding: 'utf8' });
    if (found.status !== 0) return `needs ${bin} on PATH (run: npm run setup)`;
  }
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.status !== 0) return `cannot use network namespaces: ${probe.stderr.trim()}`;
  return undefined;
}

/**
 * Call first in a privileged test. Returns true when the test may proceed.
 * Skips (with the reason printed) outside CI; throws inside CI.
 */
export function requirePrivileges(t: TestContext, binaries: readonly string[] = []): boolean {
  const blocker = privilegedBlocker(binaries);
  if (blocker === undefined) return true;
  skipOrFail(t, blocker);
  return false;
}

/**
 * `t` cannot run here for `reason`: skip it with the reason printed, or throw when it must run —
 * under CI=true, or for the setting `mustRun` names (e.g. PILLION_REQUIRE_HELM=1).
 */
export function skipOrFail(t: TestContext, reason: string, mustRun: string | undefined = inCI ? 'CI=true' : undefined): void {
  if (mustRun !== undefined) throw new Error(`${mustRun} but this test would skip: ${reason}`);
  console.error(`# skipping ${t.name}: ${reason}`);
  t.skip(reason);
}
