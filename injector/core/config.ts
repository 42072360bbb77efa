// Injector configuration: a small YAML file with the InjectorConfig fields. Parsed once at
// start-up; a typo must stop the injector rather than silently fall back to a default, so unknown
// keys and bad values are errors that name the key.
import { parse as parseYaml } from 'yaml';
import { SetupError } from './errors.js';
import type { CaptureMode, InjectorConfig, InjectPolicy, NativeSidecarMode } from './types.js';
import { dnsLabel } from './names.js';

export const defaultInjectorConfig: InjectorConfig = Object.freeze({
  defaultPolicy: 'disabled',
  defaultTemplates: Object.freeze(['envoy']),
  injectorNamespace: 'pillion-system',
  nativeSidecar: 'auto',
  kubeVersion: undefined,
  allowImageOverride: false,
  holdApplicationUntilProxyStarts: false,
  captureMode: 'init',
} satisfies InjectorConfig);

export const captureModes: readonly CaptureMode[] = Object.freeze(['init', 'cni']);

type Field = keyof InjectorConfig;
type Reader = (value: unknown, fail: (why: string) => never) => InjectorConfig[Field];

// Kubernetes object names (namespaces, template names): DNS-1123 labels.

const readers: { readonly [K in Field]: Reader } = {
  defaultPolicy: (v, fail) => readEnum<InjectPolicy>(v, ['enabled', 'disabled'], fail),
  defaultTemplates: (v, fail) => {
    const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
    if (!Array.isArray(list) || list.length === 0) fail('expected a non-empty list of template names');
    const names = (list as unknown[]).map((item) => {
      if (typeof item !== 'string' || !dnsLabel.test(item)) fail(`${JSON.stringify(item)} is not a template name`);
      return item as string;
    });
    return Object.freeze([...new Set(names)]);
  },
  injectorNamespace: (v, fail) => {
    if (typeof v !== 'string' || !dnsLabel.test(v)) fail(`${JSON.stringify(v)} is not a namespace name`);
    return v as string;
  },
  nativeSidecar: (v, fail) => {
    // YAML turns a bare `on`/`off` into a string in YAML 1.2 but users also write true/false.
    if (v === true) return 'on';
    if (v === false) return 'off';
    return readEnum<NativeSidecarMode>(v, ['on', 'off', 'auto'], fail);
  },
  kubeVersion: (v, fail) => {
    if (v === null || v === undefined) return undefined;
    // YAML reads an unquoted 1.30 as the number 1.3: refuse numbers rather than guess.
    if (typeof v === 'number') fail(`${v} is a number; quote the version, e.g. "1.30"`);
    if (typeof v !== 'string' || parseKubeMinor(v) === undefined) {
      fail(`${JSON.stringify(v)} is not a Kubernetes version like "1.29" or "v1.29.3"`);
    }
    return v as string;
  },
  allowImageOverride: (v, fail) => readBoolean(v, fail),
  holdApplicationUntilProxyStarts: (v, fail) => readBoolean(v, fail),
  // `cni` only when every node runs the pillion-cni plugin: the pods get no privileged init
  // container, and one created where the plugin is missing fails its validation init container.
  captureMode: (v, fail) => readEnum<CaptureMode>(v, captureModes, fail),
};

function readEnum<T extends string>(value: unknown, allowed: readonly T[], fail: (why: string) => never): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(`${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function readBoolean(value: unknown, fail: (why: string) => never): boolean {
  if (typeof value !== 'boolean') fail(`${JSON.stringify(value)} is not a boolean (true/false)`);
  return value;
}

/** `1.29`, `v1.29.3`, `1.29.0-gke.1` → {major, minor}; undefined when not a version. */
export function parseKubeMinor(text: string): { major: number; minor: number } | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$/.exec(text.trim());
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

/**
 * Whether the proxy becomes a native sidecar (an init container with restartPolicy Always).
 * `auto` follows the cluster version: the SidecarContainers feature is on by default from
 * Kubernetes 1.29. With no known version, `auto` is off — a regular container works everywhere,
 * a native sidecar is rejected by API servers older than 1.28. `seenInUse`: the input already
 * has an init container with restartPolicy Always, proof that the cluster supports them.
 */
export function resolveNativeSidecar(config: InjectorConfig, seenInUse = false): boolean {
  if (config.nativeSidecar === 'on') return true;
  if (config.nativeSidecar === 'off') return false;
  // The input already uses native sidecars: the cluster it is for has them, whatever its version.
  if (seenInUse) return true;
  const version = config.kubeVersion === undefined ? undefined : parseKubeMinor(config.kubeVersion);
  if (version === undefined) return false;
  return version.major > 1 || (version.major === 1 && version.minor >= 29);
}

/** Parse an injector configuration file. Missing keys take their defaults. */
export function parseInjectorConfig(yamlText: string, source: string): InjectorConfig {
  let doc: unknown;
  try {
    doc = parseYaml(yamlText, { prettyErrors: false });
  } catch (error) {
    throw new SetupError(`${source}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  if (doc === null || doc === undefined) return defaultInjectorConfig;
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new SetupError(`${source}: expected a mapping of configuration keys`);
  }
  const result: Record<string, unknown> = { ...defaultInjectorConfig };
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (!Object.hasOwn(readers, key)) {
      throw new SetupError(`${source}: unknown key "${key}" (known: ${Object.keys(readers).join(', ')})`);
    }
    const fail = (why: string): never => {
      throw new SetupError(`${source}: key "${key}": ${why}`);
    };
    result[key] = readers[key as Field](value, fail);
  }
  return Object.freeze(result) as unknown as InjectorConfig;
}
