// apply: detect backend and families, read what is installed, then converge each family in ONE
// iptables-restore --noflush transaction. If a later family fails, earlier families are rolled
// back to exactly what was installed before, so a failed apply leaves the previous state.
import { resolveBackend, type BackendDecision } from '../backend/detect.js';
import { ensureInboundSourceV6, removeInboundSourceV6, resolveFamilies } from '../backend/families.js';
import type { CaptureConfig } from '../config.js';
import { RuntimeError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import { planCaptureRules } from '../plan/planner.js';
import { desiredTables } from '../plan/render.js';
import { buildConvergeTransaction, installedAsDesired } from '../state/converge.js';
import type { SavedTable } from '../state/iptables-save.js';
import type { IpFamily } from '../values.js';
import type { Logger } from '../logger.js';
import { readState, runRestore } from './transaction.js';

// Re-exported for init/index.ts until it names the new home (logger.ts).
export type { Logger } from '../logger.js';

/** What a caller that already knows more than the host (the CNI plugin) can decide itself. */
export interface ApplyOptions {
  /**
   * The address families to program, instead of resolving --ipv6 against the host. The CNI plugin
   * passes the families of the pod's addresses (its previous result).
   */
  readonly families?: readonly IpFamily[];
}

export interface ApplyResult {
  readonly backend: BackendDecision;
  readonly families: readonly IpFamily[];
  /** Families whose rules changed (others were already exactly as planned). */
  readonly changed: readonly IpFamily[];
}

export async function applyCapture(config: CaptureConfig, executor: Executor, log: Logger, options: ApplyOptions = {}): Promise<ApplyResult> {
  const backend = await resolveBackend(config.backend, executor);
  log(`backend: ${backend.backend} (${backend.reason})`);
  const familyDecision =
    options.families === undefined
      ? await resolveFamilies(config.ipv6, backend.backend, executor)
      : { families: options.families, reason: `families given by the caller: ${options.families.map((f) => `IPv${f}`).join(', ') || 'none'}` };
  log(familyDecision.reason);
  const plan = planCaptureRules(config);

  // Read and plan everything before changing anything.
  const work: { family: IpFamily; before: SavedTable[]; text: string }[] = [];
  for (const family of familyDecision.families) {
    const before = await readState(executor, backend.backend, family);
    work.push({ family, before, text: buildConvergeTransaction(before, desiredTables(plan, family)) });
  }
  let addedInboundSource = false;
  if (familyDecision.families.includes(6)) {
    try {
      const state = await ensureInboundSourceV6(executor);
      addedInboundSource = state === 'added';
      log(`::6/128 on lo: ${state}`);
    } catch (error) {
      throw new RuntimeError((error as Error).message);
    }
  }

  const changed: IpFamily[] = [];
  for (const item of work) {
    if (item.text === '') {
      log(`IPv${item.family}: rules already as planned, nothing to do`);
      continue;
    }
    try {
      await runRestore(executor, backend.backend, item.family, item.text);
    } catch (error) {
      await rollBack(executor, backend.backend, work.filter((w) => changed.includes(w.family)), log);
      // A failed apply leaves the namespace as it was: ::6 too, when this run added it.
      if (addedInboundSource) await removeInboundSourceV6(executor, log);
      throw error;
    }
    changed.push(item.family);
    log(`IPv${item.family}: applied ${item.text.split('\n').filter((l) => /^-[AIDX] /.test(l)).length} rule change(s) in one transaction`);
  }
  return { backend, families: familyDecision.families, changed };
}

async function rollBack(
  executor: Executor,
  backend: BackendDecision['backend'],
  done: readonly { family: IpFamily; before: SavedTable[] }[],
  log: Logger,
): Promise<void> {
  for (const item of done) {
    try {
      const now = await readState(executor, backend, item.family);
      const text = buildConvergeTransaction(now, installedAsDesired(item.before));
      if (text !== '') await runRestore(executor, backend, item.family, text);
      log(`IPv${item.family}: rolled back to the previous rules`);
    } catch (error) {
      log(`IPv${item.family}: ROLLBACK FAILED, rules may be from the new config: ${(error as Error).message}`);
    }
  }
}
