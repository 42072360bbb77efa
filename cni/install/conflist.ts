// The network configuration files, as the kubelet's runtime reads them: libcni's ConfFiles
// takes every .conf, .conflist and .json file of the directory, sorted bytewise, and the
// runtime (containerd, CRI-O) uses the first one. A .conf or .json holds one plugin; libcni
// turns it into a list {cniVersion, name, plugins: [that conf]} (ConfListFromConf), which is
// exactly the conversion done here, so the network keeps its name and host-local its leases.
// Pure functions: no file access.

export const pluginType = 'pillion-cni';
export const configExtensions = ['.conf', '.conflist', '.json'] as const;

export type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** libcni matches the extension alone (Go's filepath.Ext): dot-files count too. */
export function isConfigName(name: string): boolean {
  return configExtensions.some((ext) => name.endsWith(ext));
}

/** The names in the order libcni returns them (Go's sort.Strings: bytewise). */
export function sortConfigNames(names: readonly string[]): string[] {
  return names.filter(isConfigName).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

export type ParsedConfig =
  | { readonly ok: true; readonly kind: 'list'; readonly doc: Json; readonly plugins: readonly Json[] }
  | { readonly ok: true; readonly kind: 'single'; readonly doc: Json }
  | { readonly ok: false; readonly reason: string };

/** Parses a configuration file the way the runtime would accept it, or says why not. */
export function parseConfig(name: string, bytes: Uint8Array): ParsedConfig {
  if (bytes.length === 0) return { ok: false, reason: `${name} is empty (the primary CNI may still be writing it)` };
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `${name} is not valid JSON: ${(error as Error).message}` };
  }
  if (!isObject(doc)) return { ok: false, reason: `${name} is not a JSON object` };
  if (name.endsWith('.conflist')) {
    if (typeof doc.name !== 'string' || doc.name === '') return { ok: false, reason: `${name} has no network "name"` };
    const plugins = doc.plugins;
    if (!Array.isArray(plugins) || plugins.length === 0) return { ok: false, reason: `${name} has no "plugins"` };
    if (!plugins.every((p: unknown) => isObject(p) && typeof p.type === 'string' && p.type !== '')) {
      return { ok: false, reason: `${name}: every plugin needs a "type"` };
    }
    return { ok: true, kind: 'list', doc, plugins: plugins as Json[] };
  }
  if (typeof doc.type !== 'string' || doc.type === '') return { ok: false, reason: `${name} has no plugin "type"` };
  if (typeof doc.name !== 'string' || doc.name === '') return { ok: false, reason: `${name} has no network "name"` };
  return { ok: true, kind: 'single', doc };
}

/**
 * The newest specification libcni implements (version.Current() in libcni 1.2 and 1.3, the first
 * to read "cniVersions"). A runtime skips the "cniVersions" entries above its own.
 */
const newestSpecVersion = '1.1.0';

function versionParts(version: string): number[] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return match === null ? undefined : match.slice(1).map(Number);
}

const newestSpecParts = versionParts(newestSpecVersion) ?? [];

function isNewerThan(a: number[], b: number[]): boolean {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return false;
}

/**
 * The CNI versions a runtime may run this configuration's plugins at: libcni's
 * NetworkConfFromBytes takes "cniVersion", or, when there is "cniVersions", the highest of both up
 * to its own newest; a runtime with libcni older than 1.2 reads "cniVersion" alone. '' is no version at all,
 * which the runtime passes on as it is. Every one of them must be a version pillion-cni speaks.
 */
export function runtimeVersionsOf(doc: Json): { readonly ok: true; readonly versions: readonly string[] } | { readonly ok: false; readonly reason: string } {
  const single = doc.cniVersion ?? '';
  if (typeof single !== 'string') return { ok: false, reason: '"cniVersion" is not a string' };
  const versions = new Set([single]);
  const listed = doc.cniVersions;
  if (listed !== undefined) {
    if (!Array.isArray(listed) || !listed.every((v): v is string => typeof v === 'string')) return { ok: false, reason: '"cniVersions" is not a list of strings' };
    let highest: { text: string; parts: number[] } | undefined;
    for (const text of [...listed, ...(single === '' ? [] : [single])]) {
      const parts = versionParts(text);
      if (parts === undefined) return { ok: false, reason: `${text === single ? '"cniVersion" is' : `"cniVersions" has`} ${JSON.stringify(text)}, not a version` };
      if (!isNewerThan(parts, newestSpecParts) && (highest === undefined || isNewerThan(parts, highest.parts))) highest = { text, parts };
    }
    if (highest !== undefined) versions.add(highest.text);
  }
  return { ok: true, versions: [...versions] };
}

/** The list libcni builds from a single-plugin file: same name, same version, the conf itself. */
export function conflistFromConf(conf: Json): Json {
  const list: Json = {};
  if (conf.cniVersion !== undefined) list.cniVersion = conf.cniVersion;
  list.name = conf.name;
  list.plugins = [conf];
  return list;
}

/** `10-bridge.conf` → `10-bridge.conflist`; `10-x.json` → `10-x.conflist`. */
export function conflistNameFor(name: string): string {
  return name.replace(/\.(conf|json)$/, '.conflist');
}

export function isOurEntry(plugin: unknown): boolean {
  return isObject(plugin) && plugin.type === pluginType;
}

function plugins(list: Json): unknown[] {
  return Array.isArray(list.plugins) ? (list.plugins as unknown[]) : [];
}

/** The list with Pillion's entry last (and only once), everything else as it was. */
export function withEntry(list: Json, entry: Json): Json {
  return { ...list, plugins: [...plugins(list).filter((p) => !isOurEntry(p)), entry] };
}

/** The list without any Pillion entry. */
export function withoutEntry(list: Json): Json {
  return { ...list, plugins: plugins(list).filter((p) => !isOurEntry(p)) };
}

/** True when the list ends with exactly `entry` and has no other Pillion entry. */
export function hasEntryLast(list: Json, entry: Json): boolean {
  const all = plugins(list);
  const ours = all.filter(isOurEntry);
  return ours.length === 1 && JSON.stringify(all[all.length - 1]) === JSON.stringify(entry);
}

export function containsEntry(list: Json): boolean {
  return plugins(list).some(isOurEntry);
}

export function serialize(doc: Json): Buffer {
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
}

/** The primary's plugin type: the first plugin of the list (or the single conf's type). */
export function primaryType(doc: Json): string {
  const first = Array.isArray(doc.plugins) ? (doc.plugins as unknown[])[0] : doc;
  return isObject(first) && typeof first.type === 'string' ? first.type : 'unknown';
}

/**
 * What makes a primary that rewrites its file leave other plugins' entries alone, when there is
 * such a setting; the warning after repeated rewrites names it.
 */
export function nonExclusiveHint(type: string): string {
  switch (type) {
    case 'cilium-cni':
      return 'Cilium: set cni.exclusive=false (Helm) or --cni-exclusive=false on the agent, so it stops rewriting and renaming other configurations';
    case 'calico':
      return 'Calico: install-cni rewrites 10-calico.conflist whenever its token or ConfigMap changes; add Pillion to the cni_network_config ConfigMap (or the operator\'s CNI config) to keep it there';
    case 'flannel':
      return 'Flannel: its install-cni init container copies cni-conf.json from the kube-flannel-cfg ConfigMap; add Pillion there to keep it there';
    case 'aws-cni':
    case 'vpc-cni':
      return 'AWS VPC CNI: aws-node rewrites 10-aws.conflist on start; chain Pillion through its AWS_VPC_K8S_PLUGIN settings or accept the repairs';
    default:
      return `${type}: look for a setting that stops it from owning the whole configuration directory (often called "exclusive")`;
  }
}
