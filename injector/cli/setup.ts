// Building the injector setup `pillion inject` runs with: the core's setup from the flags' files,
// the cluster version from --kube-version and the capture mode from --capture-mode.
//
// The bundled templates come prepared with the bundle (issue 11): injector/build/bundle.ts loads
// them once at build time (read, parsed, checked and hashed by loadTemplates) and writes the result
// into the bundle. A run uses it only when the templates folder still holds exactly the files it
// was made from, byte for byte (reading them is cheap; parsing the YAML, checking and hashing is
// what costs); otherwise, and whenever --templates or --values is given, the folder is loaded as
// always. Unbundled (dist/), nothing is prepared.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deepFreeze } from '../core/json.js';
import { loadSetup } from '../core/setup.js';
import type { SetupFiles } from '../core/setup.js';
import { bundledTemplatesDir } from '../core/templates.js';
import type { CaptureMode, InjectorSetup, JsonObject, Template, TemplateSet } from '../core/types.js';

export interface SetupOptions extends SetupFiles {
  /** Already validated `X.Y` (or `vX.Y.Z`) text. */
  readonly kubeVersion: string | undefined;
  /** --capture-mode: wins over the config file's captureMode, like --kube-version. */
  readonly captureMode?: CaptureMode | undefined;
}

/** The bundle's prepared templates (JSON of PreparedTemplates), defined by esbuild; undefined in dist/. */
declare const PILLION_PREPARED_TEMPLATES: string | undefined;

/** A TemplateSet as JSON, with the texts of the files it was loaded from. */
export interface PreparedTemplates {
  /** Every *.yaml file of the folder (values.yaml included) and its text. */
  readonly files: Readonly<Record<string, string>>;
  readonly names: readonly string[];
  readonly proxyTemplates: readonly string[];
  readonly templates: readonly { readonly entry: string; readonly name: string; readonly data: JsonObject; readonly pod: JsonObject }[];
  readonly values: JsonObject;
  readonly version: string;
  readonly holdCommand: readonly string[];
  readonly holdChecksCapture: boolean;
}

/** The *.yaml files of `dir` as loadTemplates reads them, with their texts. */
export function templateFiles(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) files[entry] = readFileSync(join(dir, entry), 'utf8');
  return files;
}

/** `set` (loadTemplates' result for `dir`) as PreparedTemplates; throws when JSON would not carry it exactly. */
export function prepareTemplates(set: TemplateSet, dir: string): PreparedTemplates {
  const templates = [...set.templates.values()].map((t) => ({ entry: t.file.slice(dir.length + 1), name: t.name, data: t.data, pod: t.pod }));
  for (const t of templates) if (join(dir, t.entry) !== set.templates.get(t.name)?.file) throw new Error(`template ${t.name} is not in ${dir}`);
  return { files: templateFiles(dir), names: set.names, proxyTemplates: set.proxyTemplates, templates, values: set.values, version: set.version, holdCommand: set.holdCommand, holdChecksCapture: set.holdChecksCapture };
}

/** The TemplateSet `prepared` describes, for the folder `dir`, or undefined when the folder's files are not the ones it was made from. */
export function preparedTemplateSet(prepared: PreparedTemplates, dir: string): TemplateSet | undefined {
  let files: Record<string, string>;
  try {
    files = templateFiles(dir);
  } catch {
    return undefined; // loadTemplates says why
  }
  const entries = Object.keys(prepared.files);
  if (Object.keys(files).length !== entries.length || entries.some((entry) => files[entry] !== prepared.files[entry])) return undefined;
  const templates = new Map<string, Template>(prepared.templates.map((t) => [t.name, deepFreeze({ name: t.name, file: join(dir, t.entry), data: t.data, pod: t.pod })]));
  return Object.freeze({
    dir,
    names: Object.freeze([...prepared.names]),
    proxyTemplates: Object.freeze([...prepared.proxyTemplates]),
    templates,
    values: deepFreeze(prepared.values),
    version: prepared.version,
    holdCommand: Object.freeze([...prepared.holdCommand]),
    holdChecksCapture: prepared.holdChecksCapture,
  });
}

function bundledTemplateSet(): TemplateSet | undefined {
  if (typeof PILLION_PREPARED_TEMPLATES !== 'string') return undefined;
  return preparedTemplateSet(JSON.parse(PILLION_PREPARED_TEMPLATES) as PreparedTemplates, bundledTemplatesDir);
}

/** Load everything once; any problem is the core's SetupError naming the file. */
export function buildSetup(options: SetupOptions): InjectorSetup {
  const prepared = options.templatesDir === undefined && options.valuesFile === undefined ? bundledTemplateSet() : undefined;
  const setup = loadSetup(prepared === undefined ? options : { ...options, templateSet: prepared });
  // --kube-version and --capture-mode win over the config file: they describe the cluster this
  // output is for.
  const config = { ...setup.config };
  if (options.kubeVersion !== undefined) config.kubeVersion = options.kubeVersion;
  if (options.captureMode !== undefined) config.captureMode = options.captureMode;
  if (options.kubeVersion === undefined && options.captureMode === undefined) return setup;
  return { ...setup, config: Object.freeze(config) };
}
