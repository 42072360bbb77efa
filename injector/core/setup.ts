// The injector setup both front ends run with (`pillion inject` once; `pillion webhook` at start-up
// and on every change of its files): the injector config or its defaults, and the template folder
// or the bundled one with an optional values override. Everything is checked; errors name the file.
import { defaultInjectorConfig, parseInjectorConfig } from './config.js';
import { readTextFile } from './files.js';
import { bundledTemplatesDir, loadTemplates } from './templates.js';
import type { InjectorSetup } from './types.js';

export interface SetupFiles {
  /** YAML InjectorConfig; defaults when absent. */
  readonly configFile?: string | undefined;
  /** Template folder (`*.yaml` + values.yaml); the bundled templates when absent. */
  readonly templatesDir?: string | undefined;
  /** YAML values merged over the folder's values.yaml (mappings merge, anything else replaces). */
  readonly valuesFile?: string | undefined;
  /** The cluster's version as discovered (the webhook asks its API server); the config's wins. */
  readonly clusterVersion?: string | undefined;
}

export function loadSetup(files: SetupFiles): InjectorSetup {
  const configured = files.configFile === undefined ? defaultInjectorConfig : parseInjectorConfig(readTextFile(files.configFile, 'injector config'), files.configFile);
  const config = configured.kubeVersion === undefined && files.clusterVersion !== undefined
    ? Object.freeze({ ...configured, kubeVersion: files.clusterVersion })
    : configured;
  return Object.freeze({ config, templates: loadTemplates(files.templatesDir ?? bundledTemplatesDir, files.valuesFile) });
}
