// Building the injector setup `pillion inject` runs with: template folder, values overrides,
// injector configuration and the cluster version, each from a flag or the bundled default.
import { readFileSync } from 'node:fs';
import { defaultInjectorConfig, parseInjectorConfig } from '../core/config.js';
import { bundledTemplatesDir, loadTemplates } from '../core/templates.js';
import type { InjectorConfig, InjectorSetup, TemplateSet } from '../core/types.js';

/** A file named by a flag is unreadable or invalid. `message` names the file. */
export class SetupError extends Error {
  override name = 'SetupError';
}

export interface SetupOptions {
  readonly templatesDir: string | undefined;
  readonly valuesFile: string | undefined;
  readonly configFile: string | undefined;
  /** Already validated `X.Y` (or `vX.Y.Z`) text. */
  readonly kubeVersion: string | undefined;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new SetupError(`${file}: cannot read the ${what}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function loadConfig(options: SetupOptions): InjectorConfig {
  let config = defaultInjectorConfig;
  if (options.configFile !== undefined) {
    try {
      config = parseInjectorConfig(readText(options.configFile, 'injector config'), options.configFile);
    } catch (error) {
      if (error instanceof SetupError) throw error;
      throw new SetupError((error as Error).message);
    }
  }
  // --kube-version wins over the config file: it describes the cluster this output is for.
  if (options.kubeVersion !== undefined) config = Object.freeze({ ...config, kubeVersion: options.kubeVersion });
  return config;
}

/** Load everything once; any problem is a SetupError naming the file. */
export function buildSetup(options: SetupOptions): InjectorSetup {
  const config = loadConfig(options);
  let templates: TemplateSet;
  try {
    templates = loadTemplates(options.templatesDir ?? bundledTemplatesDir, options.valuesFile);
  } catch (error) {
    throw new SetupError((error as Error).message);
  }
  return { config, templates };
}
