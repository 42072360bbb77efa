// The injector setup both front ends run with (`pillion inject` once; `pillion webhook` at start-up
// and on every change of its files): the injector config or its defaults, and the template folder
// or the bundled one with an optional values override. Everything is checked; errors name the file.
import { defaultInjectorConfig, parseInjectorConfig } from './config.js';
import { SetupError } from './errors.js';
import { readTextFile } from './files.js';
import { bundledTemplatesDir, loadTemplates } from './templates.js';
import { templateCombinationProblem } from './overrides.js';
import type { InjectorSetup, TemplateSet } from './types.js';

export interface SetupFiles {
  /** YAML InjectorConfig; defaults when absent. */
  readonly configFile?: string | undefined;
  /** Template folder (`*.yaml` + values.yaml); the bundled templates when absent. */
  readonly templatesDir?: string | undefined;
  /** YAML values merged over the folder's values.yaml (mappings merge, anything else replaces). */
  readonly valuesFile?: string | undefined;
  /** The cluster's version as discovered (the webhook asks its API server); the config's wins. */
  readonly clusterVersion?: string | undefined;
  /** The bundled templates already loaded (loadTemplates' result), used instead of reading them. */
  readonly templateSet?: TemplateSet | undefined;
}

export function loadSetup(files: SetupFiles): InjectorSetup {
  const configured = files.configFile === undefined ? defaultInjectorConfig : parseInjectorConfig(readTextFile(files.configFile, 'injector config'), files.configFile);
  const config = configured.kubeVersion === undefined && files.clusterVersion !== undefined
    ? Object.freeze({ ...configured, kubeVersion: files.clusterVersion })
    : configured;
  const templates = files.templateSet ?? loadTemplates(files.templatesDir ?? bundledTemplatesDir, files.valuesFile);
  checkDefaultTemplates(config.defaultTemplates, templates, files.configFile ?? 'the default configuration');
  return Object.freeze({ config, templates });
}

/** defaultTemplates must name templates of the folder that make one working proxy, as pods' own lists must. */
function checkDefaultTemplates(names: readonly string[], templates: TemplateSet, source: string): void {
  const unknown = names.filter((name) => !templates.names.includes(name));
  if (unknown.length > 0) {
    throw new SetupError(`${source}: key "defaultTemplates": ${unknown.join(', ')} not in ${templates.dir} (known: ${templates.names.join(', ')})`);
  }
  const problem = templateCombinationProblem(names, templates);
  if (problem !== undefined) throw new SetupError(`${source}: key "defaultTemplates": ${problem}`);
}
