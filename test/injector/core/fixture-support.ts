// Golden injection fixtures: test/fixtures/inject/<case>/ holds input.yaml (or case.yaml's
// `inputFrom: <other case>`: that case's expected.yaml, for re-injection cases), an optional
// case.yaml (mode, namespace, namespaceLabels, config: injector-config YAML text), and the
// expected outcome: expected.yaml + patch.json (+ warnings.txt) when injected, expected.txt when
// skipped or rejected. Shared with the `pillion inject` tests, which feed the same inputs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parse as parseYaml, stringify } from 'yaml';
import { parseInjectorConfig, defaultInjectorConfig } from '../../../injector/core/config.js';
import { injectPod } from '../../../injector/core/inject.js';
import { loadTemplates } from '../../../injector/core/templates.js';
import type { InjectContext, InjectorSetup, InjectResult, JsonObject, TemplateSet } from '../../../injector/core/types.js';
import { InjectionError } from '../../../injector/core/errors.js';
import { repoPath } from '../../support/paths.js';

export const fixturesDir = repoPath('test', 'fixtures', 'inject');

export interface FixtureCase {
  readonly name: string;
  readonly dir: string;
  readonly input: JsonObject;
  readonly inputText: string;
  readonly inputFrom: string | undefined;
  readonly ctx: InjectContext;
  readonly setup: InjectorSetup;
}

let bundled: TemplateSet | undefined;
export function bundledTemplates(): TemplateSet {
  bundled ??= loadTemplates();
  return bundled;
}

export function listFixtureCases(): string[] {
  return readdirSync(fixturesDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

export function loadFixtureCase(name: string): FixtureCase {
  const dir = `${fixturesDir}/${name}`;
  const caseFile = `${dir}/case.yaml`;
  const doc = (existsSync(caseFile) ? parseYaml(readFileSync(caseFile, 'utf8')) : {}) as Record<string, unknown>;
  const inputFrom = typeof doc.inputFrom === 'string' ? doc.inputFrom : undefined;
  const inputText = readFileSync(inputFrom === undefined ? `${dir}/input.yaml` : `${fixturesDir}/${inputFrom}/expected.yaml`, 'utf8');
  const config = typeof doc.config === 'string' ? parseInjectorConfig(doc.config, `${caseFile}: config`) : defaultInjectorConfig;
  return {
    name,
    dir,
    input: parseYaml(inputText) as JsonObject,
    inputText,
    inputFrom,
    ctx: {
      mode: doc.mode === 'policy' ? 'policy' : 'candidate',
      namespace: typeof doc.namespace === 'string' ? doc.namespace : undefined,
      namespaceLabels: (doc.namespaceLabels as Record<string, string> | undefined) ?? undefined,
    },
    setup: { config, templates: bundledTemplates() },
  };
}

/** YAML the way the fixtures store pods: no aliases, no line folding. */
export function formatPodYaml(pod: unknown): string {
  return stringify(pod, { lineWidth: 0, aliasDuplicateObjects: false, version: '1.1' });
}

export type Outcome = { result: InjectResult } | { error: InjectionError };

export function runFixtureCase(fixture: FixtureCase): Outcome {
  try {
    return { result: injectPod(fixture.input, fixture.ctx, fixture.setup) };
  } catch (error) {
    if (error instanceof InjectionError) return { error };
    throw error;
  }
}

/** The files a case's outcome is stored as (file name → exact content). */
export function outcomeFiles(outcome: Outcome): Record<string, string> {
  if ('error' in outcome) {
    return { 'expected.txt': `error: ${outcome.error.annotation ?? '-'}\n${outcome.error.message}\n` };
  }
  const { result } = outcome;
  const warnings = result.warnings.map((w) => `warning: ${w}\n`).join('');
  if (result.kind === 'skipped') return { 'expected.txt': `skipped: ${result.reason}\n${result.detail}\n${warnings}` };
  const files: Record<string, string> = {
    'expected.yaml': formatPodYaml(result.pod),
    'patch.json': `${JSON.stringify(result.patch, null, 2)}\n`,
  };
  if (warnings !== '') files['warnings.txt'] = warnings;
  return files;
}

export const outcomeFileNames = ['expected.yaml', 'patch.json', 'warnings.txt', 'expected.txt'] as const;
