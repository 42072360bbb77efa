// The webhook's setup (core/setup.ts: config file + template folder + optional values override),
// reloaded when the mounted ConfigMaps change. A broken new setup never replaces a
// working one: it is logged and the last good setup stays in force, so a typo in a ConfigMap edit
// cannot stop pod creation in the cluster.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSetup } from '../core/setup.js';
import type { SetupFiles } from '../core/setup.js';
import { bundledTemplatesDir } from '../core/templates.js';
import type { InjectorSetup } from '../core/types.js';
import { watchReloadable } from './reloader.js';
import type { Reloadable, Reloader, ReloadLogger } from './reloader.js';

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

/** Where the current injector setup (config + templates) comes from; undefined until loaded. */
export interface SetupSource {
  current(): InjectorSetup | undefined;
}

export interface ReloadableSetup extends SetupSource, Reloader<InjectorSetup> {
  current(): InjectorSetup;
}

/** Watch the setup's files; install a new setup only when it loads cleanly. */
export function watchSetup(files: SetupFiles, initial: InjectorSetup, log: ReloadLogger, pollMs?: number): ReloadableSetup {
  const source: Reloadable<InjectorSetup, string> = {
    watch: { files: [files.configFile, files.valuesFile].filter((f): f is string => f !== undefined), dirs: [files.templatesDir ?? bundledTemplatesDir] },
    read: () => fingerprintSetupFiles(files),
    same: (a, b) => a === b,
    load: () => loadSetup(files),
    reloaded: (setup) => [{ templates: setup.templates.names, version: setup.templates.version }, 'injector configuration and templates reloaded'],
    rejected: 'new configuration rejected; keeping the last good one',
    unreadable: 'cannot read configuration files; keeping the last good one',
    unwatchable: 'cannot watch configuration folder; relying on polling',
  };
  return watchReloadable(source, initial, fingerprintSetupFiles(files), log, pollMs);
}
