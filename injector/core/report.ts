// What became of one pod, in the shape both front ends report it: a row of `pillion inject
// --report` (with the workload's place in the manifest) and the webhook's admission log line and
// metrics (with the request it answered).
import type { InjectResult, PodReport, UninjectResult } from './types.js';

export function reportOf(result: InjectResult | UninjectResult): PodReport {
  if (result.kind === 'skipped') {
    return { decision: 'skipped', reason: result.reason, detail: result.detail, templates: [], warnings: result.warnings };
  }
  return { decision: result.kind, reason: null, detail: null, templates: [...result.templates], warnings: result.warnings };
}
