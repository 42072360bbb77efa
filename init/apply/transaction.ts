// Reading one family's state and running one restore transaction for it.
import { toolName, type Backend } from '../backend/tools.js';
import { HalfAppliedError, RuntimeError } from '../errors.js';
import type { CommandResult, Executor } from '../exec/executor.js';
import type { Logger } from '../logger.js';
import { buildConvergeTransaction, installedAsDesired } from '../state/converge.js';
import { parseIptablesSave, type SavedTable } from '../state/iptables-save.js';
import type { IpFamily } from '../values.js';

/** The tables a save printed; a save that failed is a runtime failure. */
export function installedTables(saved: CommandResult, backend: Backend, family: IpFamily): SavedTable[] {
  const tool = toolName('save', backend, family);
  if (saved.exitCode !== 0) throw new RuntimeError(`${tool} failed (exit ${saved.exitCode}): ${saved.stderr.trim()}`);
  return parseIptablesSave(saved.stdout);
}

/** What is installed now (a fresh read: rollback reads what the failed apply left). */
export async function readState(executor: Executor, backend: Backend, family: IpFamily): Promise<SavedTable[]> {
  return installedTables(await executor.run([toolName('save', backend, family)]), backend, family);
}

/** One atomic transaction: iptables-restore --noflush with the text on stdin. */
export async function runRestore(executor: Executor, backend: Backend, family: IpFamily, text: string): Promise<void> {
  const tool = toolName('restore', backend, family);
  const r = await executor.run([tool, '--noflush'], { input: text });
  if (r.exitCode !== 0) {
    throw new RuntimeError(`${tool} --noflush rejected the IPv${family} transaction (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }
}

/**
 * Takes each family back to its `before` (read fresh, then converged); a failure is logged and
 * the others still run. False when any family could not be taken back.
 */
export async function rollBack(executor: Executor, backend: Backend, done: readonly { family: IpFamily; before: readonly SavedTable[] }[], log: Logger): Promise<boolean> {
  let all = true;
  for (const item of done) {
    try {
      const now = await readState(executor, backend, item.family);
      const text = buildConvergeTransaction(now, installedAsDesired(item.before));
      if (text !== '') await runRestore(executor, backend, item.family, text);
      log(`IPv${item.family}: rolled back to the previous rules`);
    } catch (error) {
      all = false;
      log(`IPv${item.family}: ROLLBACK FAILED, rules may be from the new config: ${(error as Error).message}`);
    }
  }
  return all;
}

/** `failure`, saying that taking back what had changed failed too (the log says where). */
export function halfApplied(failure: unknown): HalfAppliedError {
  const message = failure instanceof Error ? failure.message : String(failure);
  return new HalfAppliedError(`${message}; taking back what had changed failed too, so the rules may be half applied (see the log)`, { cause: failure });
}
