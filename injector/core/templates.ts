// Loading the template folder: every `<name>.yaml` is a template, `values.yaml` holds the values.
// Everything is parsed and checked once (each reference resolves, values are valid for
// pillion-init), so a broken template stops start-up with the file named instead of failing
// on the first pod.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { inboundSourceAddresses } from '../../init/index.js';
import { formatInitArgs, readCaptureDefaults } from './capture.js';
import { checkRequestsWithinLimits } from './checks.js';
import { toCniMode } from './cni-mode.js';
import { describeFileError, readTextFile } from './files.js';
import { renderTree } from './render.js';
import { deepFreeze, isPlainObject } from './json.js';
import type { JsonObject, Template, TemplateSet } from './types.js';
import { InjectionError, SetupError } from './errors.js';
import { dnsLabel } from './names.js';

function findBundledDir(): string {
  // Source lives at injector/core/, compiled code at dist/injector/core/ or in a bundle under
  // dist/bundle/: climb to the package root (package.json beside templates/; a bundle's folder has
  // a package.json of its own) rather than assume one layout.
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates'))) return join(dir, 'templates');
    dir = join(dir, '..');
  }
  throw new Error('cannot find the bundled templates/ folder');
}

/** templates/ at the repository (package) root. */
export const bundledTemplatesDir = findBundledDir();

const allowedTopKeys = new Set(['description', 'data', 'pod']);
const allowedPodKeys = new Set(['metadata', 'spec']);
const allowedMetadataKeys = new Set(['annotations', 'labels']);

function parseYamlFile(file: string, text: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    throw new SetupError(`${file}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
}

function readTemplate(name: string, file: string, text: string): Template {
  const doc = parseYamlFile(file, text);
  if (!isPlainObject(doc)) throw new SetupError(`${file}: expected a mapping with "pod" (and optional "data")`);
  for (const key of Object.keys(doc)) {
    if (!allowedTopKeys.has(key)) throw new SetupError(`${file}: unknown top-level key "${key}" (allowed: description, data, pod)`);
  }
  const data = doc.data ?? {};
  if (!isPlainObject(data)) throw new SetupError(`${file}: "data" must be a mapping`);
  const pod = doc.pod;
  if (!isPlainObject(pod)) throw new SetupError(`${file}: "pod" must be a mapping with a "spec"`);
  for (const key of Object.keys(pod)) {
    if (!allowedPodKeys.has(key)) throw new SetupError(`${file}: unknown key "pod.${key}" (allowed: metadata, spec)`);
  }
  if (!isPlainObject(pod.spec)) throw new SetupError(`${file}: "pod.spec" must be a mapping`);
  if (pod.metadata !== undefined) {
    if (!isPlainObject(pod.metadata)) throw new SetupError(`${file}: "pod.metadata" must be a mapping`);
    for (const key of Object.keys(pod.metadata)) {
      if (!allowedMetadataKeys.has(key)) throw new SetupError(`${file}: unknown key "pod.metadata.${key}" (allowed: annotations, labels)`);
    }
  }
  for (const list of ['containers', 'initContainers', 'volumes']) {
    const items = pod.spec[list];
    if (items === undefined) continue;
    if (!Array.isArray(items)) throw new SetupError(`${file}: "pod.spec.${list}" must be a list`);
    for (const [i, item] of items.entries()) {
      if (!isPlainObject(item) || typeof item.name !== 'string' || item.name === '') {
        throw new SetupError(`${file}: pod.spec.${list}[${i}] needs a literal "name" (items are merged by name)`);
      }
    }
  }
  return deepFreeze({ name, file, data, pod });
}

/**
 * The scope a template renders in: values, its own data (rendered first), and `capture`: the
 * computed init args and the inbound source addresses pillion-init's rules let pass (init's one
 * definition, so a template cannot make the proxy and the rules disagree).
 */
export function renderTemplate(template: Template, values: JsonObject, initArgs: readonly string[]): JsonObject {
  const capture = { args: initArgs, inboundSourceAddress: inboundSourceAddresses[4], inboundSourceAddress6: inboundSourceAddresses[6] };
  const base = { values, capture };
  const data = renderTree(template.data, base, `${template.file}: data`);
  return renderTree(template.pod, { ...base, data }, `${template.file}: pod`) as JsonObject;
}

function readHoldCommand(values: JsonObject, file: string): readonly string[] {
  const hold = values.hold;
  let command = isPlainObject(hold) ? hold.command : undefined;
  command = renderTree(command, { values }, `${file}: hold.command`);
  if (!Array.isArray(command) || command.length === 0 || !command.every((part) => typeof part === 'string')) {
    throw new SetupError(`${file}: key "hold.command" must be a non-empty list of strings (an exec argv)`);
  }
  return Object.freeze(command);
}

let bundledHoldText: string | undefined;

/**
 * The bundled values.yaml's `hold.command`, unrendered, as JSON text: read once, and not read at
 * all when the caller has just parsed that file (`bundledValues`: loading the bundled folder).
 */
function bundledHoldCommandText(bundledValues?: unknown): string {
  if (bundledHoldText === undefined) {
    const file = join(bundledTemplatesDir, 'values.yaml');
    const values = bundledValues ?? parseYamlFile(file, readTextFile(file, 'values file'));
    bundledHoldText = JSON.stringify(isPlainObject(values) && isPlainObject(values.hold) ? values.hold.command : null);
  }
  return bundledHoldText;
}

/**
 * Whether the hold command is Pillion's own, which checks capture when given the check's
 * arguments (so CNI mode may drop its validation container for a held native sidecar). Decided
 * on the command itself, not on a flag beside it: values merge key by key (--values, Helm), so a
 * flag could stay true under a command of the user's that ignores the arguments and exits 0.
 */
function holdCommandChecksCapture(values: JsonObject, bundledValues: unknown): boolean {
  const hold = values.hold;
  return isPlainObject(hold) && JSON.stringify(hold.command) === bundledHoldCommandText(bundledValues);
}

/** The container every proxy template defines with an image; add-on templates extend it. */
export const proxyContainerName = 'pillion-proxy';

/**
 * Check the values the bundled templates rely on, where present (a custom folder may not use
 * them): ports are integers 1-65535 and distinct (two listeners cannot share one), the inbound
 * source address is an IP address, concurrency, uid and gid are sane integers, and the proxy's and
 * init container's requests are within their limits. Errors name the key and the file.
 */
function checkValues(values: JsonObject, file: string): void {
  const fail = (key: string, why: string): never => {
    throw new SetupError(`${file}: key "${key}": ${why}`);
  };
  const ports = values.ports;
  if (ports !== undefined) {
    if (!isPlainObject(ports)) fail('ports', 'must be a mapping of port numbers');
    const byNumber = new Map<number, string>();
    for (const [name, port] of Object.entries(ports as JsonObject)) {
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        fail(`ports.${name}`, `${JSON.stringify(port)} is not a port number (1-65535)`);
      }
      const other = byNumber.get(port as number);
      if (other !== undefined) fail(`ports.${name}`, `${String(port)} is also ports.${other}; every proxy port needs its own number`);
      byNumber.set(port as number, name);
    }
    // The proxy's DNS listener: pillion-init refuses a --dns-port equal to a proxy TCP port once a
    // pod turns on pillion.dev/redirect-dns, so such a pod would fail at start; refuse it here.
    const capture = isPlainObject(values.capture) ? values.capture : {};
    const dnsPort = capture.dnsPort;
    const clash = typeof dnsPort === 'number' ? byNumber.get(dnsPort) : undefined;
    if (clash !== undefined) fail('capture.dnsPort', `${String(dnsPort)} is also ports.${clash}; the proxy's DNS listener needs its own port`);
  }
  // Former values: the addresses are pillion-init's, not a setting. A values file that still names
  // them is accepted when it says what pillion-init does, and refused when it would make the proxy
  // forward from an address the rules redirect again.
  for (const [key, address] of [['inboundSourceAddress', inboundSourceAddresses[4]], ['inboundSourceAddress6', inboundSourceAddresses[6]]] as const) {
    if (key in values && values[key] !== address) {
      fail(key, `${JSON.stringify(values[key])} cannot be used: pillion-init lets inbound traffic from ${address} pass and no other, so the proxy forwards from it (the key is no longer needed)`);
    }
  }
  const proxy = isPlainObject(values.proxy) ? values.proxy : {};
  const integer = (key: string, value: unknown, min: number, max: number): void => {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      fail(key, `${JSON.stringify(value)} is not an integer from ${min} to ${max}`);
    }
  };
  integer('proxy.concurrency', proxy.concurrency, 1, 1024);
  integer('proxy.uid', proxy.uid, 1, 2147483647);
  integer('proxy.gid', proxy.gid, 0, 2147483647);
  for (const owner of ['proxy', 'init']) {
    const section = values[owner];
    if (!isPlainObject(section)) continue;
    try {
      checkRequestsWithinLimits(section.resources, new Set(), `key "${owner}.resources"`);
    } catch (error) {
      if (error instanceof InjectionError) throw new SetupError(`${file}: ${error.message}`, { cause: error });
      throw error;
    }
  }
}

// IANA_SVC_NAME, what the API server requires of a container port's name.
const portNamePattern = /^(?=.*[a-z])[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,14}$/;

/**
 * A rendered template's containers: port names the API server accepts, and whether it is a proxy
 * template (it gives pillion-proxy an image) rather than an add-on.
 */
function inspectRendered(file: string, pod: JsonObject): { isProxy: boolean } {
  const spec = isPlainObject(pod.spec) ? pod.spec : {};
  let isProxy = false;
  for (const list of ['initContainers', 'containers']) {
    const items = Array.isArray(spec[list]) ? (spec[list] as unknown[]) : [];
    for (const container of items.filter(isPlainObject)) {
      if (container.name === proxyContainerName && container.image !== undefined) isProxy = true;
      const ports = Array.isArray(container.ports) ? container.ports.filter(isPlainObject) : [];
      for (const port of ports) {
        if (port.name !== undefined && (typeof port.name !== 'string' || !portNamePattern.test(port.name))) {
          throw new SetupError(
            `${file}: container ${String(container.name)}: port name ${JSON.stringify(port.name)} is not a valid port name ` +
              '(at most 15 characters a-z, 0-9 and single hyphens, with a letter)',
          );
        }
      }
    }
  }
  return { isProxy };
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

/**
 * Read and check every template in `dir` (sync: done once at start-up). `overridesFile` (the
 * `--values` flag) is merged over the folder's values.yaml with mergeValues; the merged values get
 * the same checks, and the override's text is part of the template version recorded on pods.
 */
export function loadTemplates(dir: string = bundledTemplatesDir, overridesFile?: string): TemplateSet {
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  } catch (error) {
    throw new SetupError(`${dir}: cannot read the templates folder: ${describeFileError(error)}`, { cause: error });
  }
  // node:crypto is loaded here, not imported: loading it costs a `pillion inject` run about 7 ms
  // when the templates come prepared with the bundle (injector/cli/setup.ts; issue 11).
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256');
  const folderValuesFile = join(dir, 'values.yaml');
  if (!entries.includes('values.yaml')) throw new SetupError(`${folderValuesFile}: missing (every template folder needs values.yaml)`);
  const valuesText = readTextFile(folderValuesFile, 'values file');
  hash.update(`values.yaml\0${valuesText}\0`);
  const folderValues = parseYamlFile(folderValuesFile, valuesText);
  if (!isPlainObject(folderValues)) throw new SetupError(`${folderValuesFile}: expected a mapping of values`);
  let values: JsonObject = folderValues;
  // Problems found in the merged values may come from either file: name both.
  let valuesFile = folderValuesFile;
  if (overridesFile !== undefined) {
    const overridesText = readTextFile(overridesFile, 'values file');
    hash.update(`--values\0${overridesText}\0`);
    const overrides = parseYamlFile(overridesFile, overridesText);
    if (overrides !== null && overrides !== undefined && !isPlainObject(overrides)) {
      throw new SetupError(`${overridesFile}: expected a mapping of values`);
    }
    values = mergeValues(values, overrides ?? {}) as JsonObject;
    valuesFile = `${overridesFile} (merged over ${folderValuesFile})`;
  }
  deepFreeze(values);
  checkValues(values, valuesFile);
  const initArgs = formatInitArgs(readCaptureDefaults(values, valuesFile));
  const holdCommand = readHoldCommand(values, valuesFile);
  const holdChecksCapture = holdCommandChecksCapture(values, dir === bundledTemplatesDir ? folderValues : undefined);

  const templates = new Map<string, Template>();
  const proxyTemplates: string[] = [];
  for (const entry of entries) {
    if (entry === 'values.yaml') continue;
    const name = entry.slice(0, -'.yaml'.length);
    const file = join(dir, entry);
    if (!dnsLabel.test(name)) throw new SetupError(`${file}: template names must be DNS labels (a-z, 0-9, -)`);
    const text = readTextFile(file, 'template');
    hash.update(`${entry}\0${text}\0`);
    const template = readTemplate(name, file, text);
    // Render once with the defaults: every reference must resolve now, not on some pod later.
    const rendered = renderTemplate(template, values, initArgs);
    if (inspectRendered(file, rendered).isProxy) proxyTemplates.push(name);
    // Whatever the configured capture mode: a template must work in both (CNI mode reads the
    // settings of its capture container; cni-mode.ts).
    toCniMode(rendered, (why) => {
      throw new SetupError(`${file}: cannot be used with captureMode cni: ${why}`);
    });
    templates.set(name, template);
  }
  if (templates.size === 0) throw new SetupError(`${dir}: no templates (*.yaml besides values.yaml)`);
  return Object.freeze({
    dir,
    names: Object.freeze([...templates.keys()]),
    proxyTemplates: Object.freeze(proxyTemplates),
    templates,
    values,
    version: hash.digest('hex').slice(0, 12),
    holdCommand,
    holdChecksCapture,
  });
}
