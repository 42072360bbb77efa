// Reading one family's state and running one restore transaction for it.
import { toolName, type Backend } from '../backend/detect.js';
import { RuntimeError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import { parseIptablesSave, type SavedTable } from '../state/iptables-save.js';
import type { IpFamily } from '../values.js';

export async function readState(executor: Executor, backend: Backend, family: IpFamily): Promise<SavedTable[]> {
  const tool = toolName('save', backend, family);
  const r = await executor.run([tool]);
  if (r.exitCode !== 0) throw new RuntimeError(`${tool} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  return parseIptablesSave(r.stdout);
}

/** One atomic transaction: iptables-restore --noflush with the text on stdin. */
export async function runRestore(executor: Executor, backend: Backend, family: IpFamily, text: string): Promise<void> {
  const tool = toolName('restore', backend, family);
  const r = await executor.run([tool, '--noflush'], { input: text });
  if (r.exitCode !== 0) {
    throw new RuntimeError(`${tool} --noflush rejected the IPv${family} transaction (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }
}
