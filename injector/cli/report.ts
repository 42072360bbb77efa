// The stderr side of `pillion inject`: per-workload decisions and the problems that stopped a run.
import type { ManifestProblem, WorkloadReport } from './inject-manifest.js';

function workloadId(report: WorkloadReport): string {
  return `${report.kind}/${report.namespace}/${report.name}`;
}

/**
 * One line per workload, then one `warning` line per warning the core gave for it:
 *   injected Deployment/ns/name (templates: envoy)
 *   skipped Pod/ns/name: <reason>: <detail>
 *   warning Deployment/ns/name: <text>
 */
export function formatTextReport(reports: readonly WorkloadReport[]): string {
  const lines: string[] = [];
  for (const report of reports) {
    const id = workloadId(report);
    if (report.decision !== 'skipped') lines.push(`${report.decision} ${id} (templates: ${report.templates.join(', ')})`);
    else lines.push(`skipped ${id}: ${report.reason ?? 'unknown'}: ${report.detail ?? ''}`);
    for (const warning of report.warnings) lines.push(`warning ${id}: ${warning}`);
  }
  return lines.map((line) => `${line}\n`).join('');
}

/** `--report json`: an array of every workload, with the fields documented in docs/cli.md. */
export function formatJsonReport(reports: readonly WorkloadReport[]): string {
  const rows = reports.map((r) => ({
    file: r.file,
    document: r.document,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    decision: r.decision,
    reason: r.reason,
    detail: r.detail,
    templates: r.templates,
    warnings: r.warnings,
  }));
  return `${JSON.stringify(rows, null, 2)}\n`;
}

/** `pillion inject: FILE: document N (line L): message` (`pillion uninject: …` for that command). */
export function formatProblem(problem: ReportedProblem, command = 'inject'): string {
  const where = problem.file === undefined ? [] : [problem.file];
  if (problem.document !== undefined) {
    where.push(problem.line === undefined ? `document ${problem.document}` : `document ${problem.document} (line ${problem.line})`);
  } else if (problem.line !== undefined) {
    where.push(`line ${problem.line}`);
  }
  return `pillion ${command}: ${where.join(': ')}: ${problem.message}\n`;
}

/** A problem as `--report json` prints it; `file` is null for a problem no manifest file has. */
export type ReportedProblem = Omit<ManifestProblem, 'file'> & { readonly file: string | undefined };

/**
 * `--report json` when the run fails: `{"errors": [...]}`, one element per problem, with the
 * fields of the text form (`file`, `document`, `line` are null when unknown) and its message.
 */
export function formatJsonProblems(problems: readonly ReportedProblem[]): string {
  const errors = problems.map((p) => ({ file: p.file ?? null, document: p.document ?? null, line: p.line ?? null, message: p.message }));
  return `${JSON.stringify({ errors }, null, 2)}\n`;
}
