// Building the injector setup `pillion inject` runs with: template folder, values overrides,
// injector configuration and the cluster version, each from a flag or the bundled default.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { formatInitArgs, readCaptureDefaults } from '../core/capture.js';
import { defaultInjectorConfig, parseInjectorConfig } from '../core/config.js';
import { deepFreeze, isPlainObject } from '../core/render.js';
import { bundledTemplatesDir, loadTemplates, renderTemplate } from '../core/templates.js';
import type { InjectorConfig, InjectorSetup, JsonObject, TemplateSet } from '../core/types.js';

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

/**
 * Values overrides merge like Helm values: mappings merge key by key, anything else (lists,
 * scalars) replaces the default outright, so a list is never half-merged.
 */
export function mergeValues(base: unknown, top: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(top)) return top;
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(top)) out[key] = mergeValues(base[key], value);
  return out;
}

/** The template set with `--values` merged over its values.yaml, checked like loadTemplates does. */
function applyValues(set: TemplateSet, file: string): TemplateSet {
  const text = readText(file, 'values file');
  let overrides: unknown;
  try {
    overrides = parseYaml(text, { prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    throw new SetupError(`${file}: not valid YAML: ${(error as Error).message}`);
  }
  if (overrides === null || overrides === undefined) return set;
  if (!isPlainObject(overrides)) throw new SetupError(`${file}: expected a mapping of values`);
  const values = deepFreeze(mergeValues(set.values, overrides) as JsonObject);
  try {
    // Same checks the core runs at load time, now on the merged values: capture settings must
    // be valid for pillion-init and every template must still render.
    const initArgs = formatInitArgs(readCaptureDefaults(values, file));
    for (const template of set.templates.values()) renderTemplate(template, values, initArgs);
  } catch (error) {
    throw new SetupError((error as Error).message);
  }
  // The status annotation records the version; different values must give a different one.
  const version = createHash('sha256').update(`${set.version}\0${JSON.stringify(overrides)}`).digest('hex').slice(0, 12);
  return Object.freeze({ ...set, values, version });
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
    templates = loadTemplates(options.templatesDir ?? bundledTemplatesDir);
  } catch (error) {
    throw new SetupError((error as Error).message);
  }
  if (options.valuesFile !== undefined) templates = applyValues(templates, options.valuesFile);
  return { config, templates };
}
