// The injector's setup (config file + template folder + optional values override), loaded at
// start-up and reloaded when the mounted ConfigMaps change. A broken new setup never replaces a
// working one: it is logged and the last good setup stays in force, so a typo in a ConfigMap edit
// cannot stop pod creation in the cluster.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { defaultInjectorConfig, parseInjectorConfig } from '../core/config.js';
import { bundledTemplatesDir, loadTemplates } from '../core/templates.js';
import type { InjectorSetup, JsonObject } from '../core/types.js';
import type { SetupSource } from './app.js';
import { watchForChanges } from './file-watch.js';
import type { Watch } from './file-watch.js';
import type { ReloadLogger } from './certificates.js';

export interface SetupFiles {
  /** YAML InjectorConfig; defaults when absent. */
  readonly configFile?: string | undefined;
  /** Template folder (`*.yaml` + values.yaml); the bundled templates when absent. */
  readonly templatesDir?: string | undefined;
  /** YAML values merged over the folder's values.yaml (mappings merge, anything else replaces). */
  readonly valuesFile?: string | undefined;
}

export class SetupError extends Error {
  override name = 'SetupError';
}

/** Load and validate everything. Throws SetupError whose message names the file at fault. */
export function loadSetup(files: SetupFiles): InjectorSetup {
  const config = files.configFile === undefined ? defaultInjectorConfig : parseInjectorConfig(readText(files.configFile), files.configFile);
  const dir = files.templatesDir ?? bundledTemplatesDir;
  const templates = files.valuesFile === undefined ? loadTemplates(dir) : loadTemplatesWithValues(dir, files.valuesFile);
  return Object.freeze({ config, templates });
}

/**
 * The core reads values.yaml from the template folder and validates it there; to apply an
 * override through exactly that validation (and have it change the template version recorded on
 * pods), we load from a private copy of the folder whose values.yaml is the merged result.
 */
function loadTemplatesWithValues(dir: string, valuesFile: string): ReturnType<typeof loadTemplates> {
  const override = parseYamlMapping(readText(valuesFile), valuesFile);
  const base = parseYamlMapping(readText(join(dir, 'values.yaml')), join(dir, 'values.yaml'));
  const work = mkdtempSync(join(tmpdir(), 'pillion-values-'));
  try {
    for (const entry of readdirSync(dir)) {
      if (entry.endsWith('.yaml') && entry !== 'values.yaml') copyFileSync(join(dir, entry), join(work, entry));
    }
    writeFileSync(join(work, 'values.yaml'), stringifyYaml(mergeValues(base, override)));
    try {
      return loadTemplates(work);
    } catch (error) {
      // Name the user's files, not our private copy.
      const message = (error instanceof Error ? error.message : String(error)).split(work).join(`${dir} (with values from ${valuesFile})`);
      throw new SetupError(message);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Deep merge: mappings merge key by key; lists and scalars in `override` replace. */
export function mergeValues(base: JsonObject, override: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const prior = out[key];
    out[key] = isMapping(prior) && isMapping(value) ? mergeValues(prior, value) : value;
  }
  return out;
}

function isMapping(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseYamlMapping(text: string, file: string): JsonObject {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    throw new SetupError(`${file}: not valid YAML: ${(error as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isMapping(doc)) throw new SetupError(`${file}: expected a mapping of values`);
  return doc;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new SetupError(`${file}: cannot read: ${(error as Error).message}`);
  }
}

/** Hash of every input file's name and bytes: equal hashes mean nothing to reload. */
export function fingerprintSetupFiles(files: SetupFiles): string {
  const hash = createHash('sha256');
  const add = (label: string, file: string): void => {
    let bytes: Buffer | string;
    try {
      bytes = readFileSync(file);
    } catch {
      bytes = '\0missing';
    }
    hash.update(`${label}\0${file}\0`).update(bytes).update('\0');
  };
  if (files.configFile !== undefined) add('config', files.configFile);
  if (files.valuesFile !== undefined) add('values', files.valuesFile);
  const dir = files.templatesDir ?? bundledTemplatesDir;
  let entries: string[] = [];
  try {
    entries = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  } catch {
    hash.update('\0no-templates-dir');
  }
  for (const entry of entries) add('template', join(dir, entry));
  return hash.digest('hex');
}

export interface ReloadableSetup extends SetupSource, Watch {
  current(): InjectorSetup;
  /** Re-read now; true when a new setup was installed. */
  check(): boolean;
}

/** Watch the setup's files; install a new setup only when it loads cleanly. */
export function watchSetup(files: SetupFiles, initial: InjectorSetup, log: ReloadLogger, pollMs?: number): ReloadableSetup {
  let current = initial;
  let loadedPrint = fingerprintSetupFiles(files);
  let rejectedPrint: string | undefined;
  const check = (): boolean => {
    const print = fingerprintSetupFiles(files);
    if (print === loadedPrint || print === rejectedPrint) return false;
    try {
      current = loadSetup(files);
      loadedPrint = print;
      rejectedPrint = undefined;
      log.info({ templates: current.templates.names, version: current.templates.version }, 'injector configuration and templates reloaded');
      return true;
    } catch (error) {
      rejectedPrint = print;
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'new configuration rejected; keeping the last good one');
      return false;
    }
  };
  const dirs = [files.templatesDir ?? bundledTemplatesDir];
  const watched = [files.configFile, files.valuesFile].filter((f): f is string => f !== undefined);
  const watcher = watchForChanges({ files: watched, dirs }, () => void check(), {
    ...(pollMs === undefined ? {} : { pollMs }),
    onWatchError: (dir, error) => log.error({ dir, err: String(error) }, 'cannot watch configuration folder; relying on polling'),
  });
  return { current: () => current, check, close: () => watcher.close() };
}
