// inspect: is the plan for `config` installed, exactly, in each given family? The same comparison
// apply makes before deciding there is nothing to do, so "installed" here and "nothing to do"
// there can never disagree. Used by the CNI plugin's CHECK, which must fail when rules were flushed.
import { detectBackend, type BackendDecision } from '../backend/detect.js';
import type { CaptureConfig } from '../config.js';
import type { Executor } from '../exec/executor.js';
import { planCaptureRules } from '../plan/planner.js';
import { desiredTables } from '../plan/render.js';
import { buildConvergeTransaction } from '../state/converge.js';
import type { IpFamily } from '../values.js';
import { Reads } from './reads.js';
import { installedTables } from './transaction.js';

export interface FamilyInspection {
  readonly family: IpFamily;
  /** True when the installed Pillion chains and jumps are exactly the planned ones. */
  readonly asPlanned: boolean;
  /** The restore text apply would send to converge ('' when as planned): says what differs. */
  readonly missing: string;
}

export interface Inspection {
  readonly backend: BackendDecision;
  readonly families: readonly FamilyInspection[];
}

export async function inspectCapture(config: CaptureConfig, executor: Executor, families: readonly IpFamily[]): Promise<Inspection> {
  // Every read at once: detection's saves are the state read too.
  const reads = new Reads(executor);
  reads.prefetch(config.backend, families, false);
  const backend = await detectBackend(config.backend, reads);
  const plan = planCaptureRules(config);
  const result: FamilyInspection[] = [];
  for (const family of families) {
    const installed = installedTables(await reads.save(backend.backend, family), backend.backend, family);
    const missing = buildConvergeTransaction(installed, desiredTables(plan, family));
    result.push({ family, asPlanned: missing === '', missing });
  }
  return { backend, families: result };
}
