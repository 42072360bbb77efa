// One plugin invocation as the CNI specification defines it: parameters in the environment, the
// network configuration (with prevResult for a chained plugin) as JSON on stdin. Parsed once,
// strictly, into plain data; every defect is a CNI error naming the variable or the field.
import { CniError, specCodes } from './errors.js';
import { requireSupportedVersion, type CniVersion } from './versions.js';
import { isObject } from './json.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION';
const commands: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'];

export interface CniEnvironment {
  readonly command: CniCommand;
  readonly containerId: string;
  /** Path of the pod's network namespace; may be empty for DEL (the namespace may be gone). */
  readonly netns: string;
  readonly ifname: string;
  /** CNI_ARGS as key=value pairs (K8S_POD_NAMESPACE, K8S_POD_NAME, ...). */
  readonly args: ReadonlyMap<string, string>;
}

/** The runtime's pod annotations (containerd's and CRI-O's io.kubernetes.cri.pod-annotations). */
export const podAnnotationsCapability = 'io.kubernetes.cri.pod-annotations';

export interface NetworkConfig {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly type: string;
  /** The previous plugin's result exactly as received (passed through unchanged by ADD). */
  readonly prevResult: Readonly<Record<string, unknown>> | undefined;
  /** Pod annotations from the runtime, when it passed them; undefined when it did not. */
  readonly runtimeAnnotations: Readonly<Record<string, string>> | undefined;
  /** Pillion's own fields. */
  readonly kubeconfig: string | undefined;
  readonly excludeNamespaces: readonly string[];
  readonly logFile: string | undefined;
  /** Upper bound for programming the namespace, all commands together. */
  readonly timeoutMs: number;
  /** The pod lookup: per-attempt timeout and number of attempts. */
  readonly apiTimeoutMs: number;
  readonly apiAttempts: number;
}

/**
 * Never captured, and never looked up: system namespaces and Pillion's own. The configuration's
 * excludeNamespaces ADDS to these, never replaces them: a control-plane node whose API server is
 * a static pod in kube-system must be able to start it before any API server answers.
 */
export const defaultExcludedNamespaces: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'pillion-system'];

// The specification's rules for a container id and interface name (as libcni enforces them).
const containerIdPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const ifnamePattern = /^[^\s/:]{1,15}$/;

function invalidEnv(message: string): CniError {
  return new CniError(specCodes.invalidEnvironment, message);
}

/** CNI_COMMAND alone: VERSION needs nothing else, and DEL must get as far as it can. */
export function readCommand(env: NodeJS.ProcessEnv): CniCommand {
  const command = env.CNI_COMMAND;
  if (command === undefined || command === '') throw invalidEnv('required environment variable CNI_COMMAND is missing');
  if (!(commands as readonly string[]).includes(command)) {
    throw invalidEnv(`CNI_COMMAND ${JSON.stringify(command)} is not one of ${commands.join(', ')}`);
  }
  return command as CniCommand;
}

/** CNI_ARGS: "K=V;K=V". A pair without "=" is malformed input, not something to guess about. */
export function parseCniArgs(text: string): Map<string, string> {
  const args = new Map<string, string>();
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalidEnv(`CNI_ARGS: ${JSON.stringify(pair)} is not KEY=VALUE`);
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return args;
}

export function readEnvironment(env: NodeJS.ProcessEnv): CniEnvironment {
  const command = readCommand(env);
  const required = ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH', ...(command === 'DEL' ? [] : ['CNI_NETNS'])];
  const missing = required.filter((name) => (env[name] ?? '') === '');
  if (missing.length > 0) throw invalidEnv(`required environment variable(s) missing: ${missing.join(', ')}`);
  const containerId = env.CNI_CONTAINERID ?? '';
  if (!containerIdPattern.test(containerId)) throw invalidEnv(`CNI_CONTAINERID ${JSON.stringify(containerId)} is not a valid container id`);
  const ifname = env.CNI_IFNAME ?? '';
  if (!ifnamePattern.test(ifname)) throw invalidEnv(`CNI_IFNAME ${JSON.stringify(ifname)} is not a valid interface name`);
  return { command, containerId, netns: env.CNI_NETNS ?? '', ifname, args: parseCniArgs(env.CNI_ARGS ?? '') };
}

function invalidConfig(message: string): CniError {
  return new CniError(specCodes.invalidNetworkConfig, message);
}

function optionalString(conf: Record<string, unknown>, key: string): string | undefined {
  const value = conf[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalidConfig(`network config field "${key}" must be a non-empty string`);
  return value;
}

function positiveInteger(conf: Record<string, unknown>, key: string, fallback: number, max: number): number {
  const value = conf[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidConfig(`network config field "${key}" must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function readRuntimeAnnotations(conf: Record<string, unknown>): Record<string, string> | undefined {
  const runtimeConfig = conf.runtimeConfig;
  if (runtimeConfig === undefined) return undefined;
  if (!isObject(runtimeConfig)) throw invalidConfig('network config field "runtimeConfig" must be an object');
  const annotations = runtimeConfig[podAnnotationsCapability];
  if (annotations === undefined) return undefined;
  if (!isObject(annotations) || !Object.values(annotations).every((v) => typeof v === 'string')) {
    throw invalidConfig(`runtimeConfig "${podAnnotationsCapability}" must map annotation names to strings`);
  }
  return annotations as Record<string, string>;
}

/** Decode stdin. Not JSON: "failed to decode" (6); a bad or missing field: "invalid network config" (7). */
export function parseNetworkConfig(stdin: string): NetworkConfig {
  let conf: unknown;
  try {
    conf = JSON.parse(stdin);
  } catch (error) {
    throw new CniError(specCodes.decodingFailure, 'network config on stdin is not valid JSON', (error as Error).message);
  }
  if (!isObject(conf)) throw new CniError(specCodes.decodingFailure, 'network config on stdin is not a JSON object');
  if (conf.cniVersion === undefined) throw invalidConfig('network config has no "cniVersion"');
  const cniVersion = requireSupportedVersion(conf.cniVersion);
  for (const key of ['name', 'type']) {
    if (typeof conf[key] !== 'string' || conf[key] === '') throw invalidConfig(`network config has no "${key}" (a non-empty string)`);
  }
  const prevResult = conf.prevResult;
  if (prevResult !== undefined && !isObject(prevResult)) throw invalidConfig('network config field "prevResult" must be an object');
  const exclude = conf.excludeNamespaces;
  if (exclude !== undefined && !(Array.isArray(exclude) && exclude.every((n) => typeof n === 'string'))) {
    throw invalidConfig('network config field "excludeNamespaces" must be a list of namespace names');
  }
  return {
    cniVersion,
    name: conf.name as string,
    type: conf.type as string,
    prevResult,
    runtimeAnnotations: readRuntimeAnnotations(conf),
    kubeconfig: optionalString(conf, 'kubeconfig'),
    excludeNamespaces: [...new Set([...defaultExcludedNamespaces, ...(exclude ?? [])])],
    logFile: optionalString(conf, 'logFile'),
    timeoutMs: positiveInteger(conf, 'timeoutMs', 10_000, 120_000),
    apiTimeoutMs: positiveInteger(conf, 'apiTimeoutMs', 2000, 30_000),
    apiAttempts: positiveInteger(conf, 'apiAttempts', 3, 10),
  };
}
