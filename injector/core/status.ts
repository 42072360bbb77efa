// The status annotation (pillion.dev/status): a JSON record of exactly what injection added, so
// a second pass can tell "already done" (same template version → skip) from "done by an older
// version" (strip what is listed, then render again). Stripping removes by name only what the
// record lists: user containers, volumes and annotations are never touched.
import { isPlainObject } from './json.js';
import { statusKey } from './overrides.js';
import type { JsonObject } from './types.js';
import { InjectionError } from './errors.js';
import type { CaptureRecord } from './cni-mode.js';
import { readPodResourcesRecord, restorePodResources, type PodResourcesRecord } from './pod-resources.js';

export interface InjectionStatus {
  readonly version: string;
  readonly templates: readonly string[];
  readonly containers: readonly string[];
  readonly initContainers: readonly string[];
  readonly volumes: readonly string[];
  readonly annotations: readonly string[];
  readonly labels: readonly string[];
  /** What injection changed in the pod-level resources, when it did (pod-resources.ts). */
  readonly podResources?: PodResourcesRecord | undefined;
  /**
   * CNI mode only: the pillion-cni plugin's settings (docs/cni.md). Absent in init mode, where the
   * init container captures.
   */
  readonly capture?: CaptureRecord | undefined;
}

const listFields = ['templates', 'containers', 'initContainers', 'volumes', 'annotations', 'labels'] as const;

/** Read the status annotation; undefined when absent. A malformed record is an InjectionError. */
export function readStatus(annotations: Readonly<Record<string, unknown>>): InjectionStatus | undefined {
  if (!Object.hasOwn(annotations, statusKey)) return undefined;
  const text = annotations[statusKey];
  const fail = (why: string): never => {
    throw new InjectionError(`annotation ${statusKey}: ${why}; remove it to inject afresh`, statusKey);
  };
  if (typeof text !== 'string') return fail('must be a JSON string');
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return fail('is not valid JSON');
  }
  if (!isPlainObject(record) || typeof record.version !== 'string') return fail('has no "version"');
  const status: Record<string, unknown> = { version: record.version };
  for (const field of listFields) {
    const list = record[field] ?? [];
    if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) return fail(`"${field}" must be a list of names`);
    status[field] = list;
  }
  if (record.podResources !== undefined) {
    const podResources = readPodResourcesRecord(record.podResources);
    if (podResources === undefined) return fail('"podResources" must map requests and limits to {resource: [own or null, written]}');
    status.podResources = podResources;
  }
  const capture = record.capture;
  if (capture !== undefined) {
    if (!isPlainObject(capture) || capture.mode !== 'cni' || !Array.isArray(capture.args) || !capture.args.every((a) => typeof a === 'string')) {
      return fail('"capture" must be {"mode": "cni", "args": [...]}');
    }
    status.capture = { mode: 'cni', args: capture.args };
  }
  return status as unknown as InjectionStatus;
}

/** JSON text with a fixed key order, so equal injections produce byte-identical annotations. */
export function formatStatus(status: InjectionStatus): string {
  const podResources = status.podResources === undefined ? {} : { podResources: status.podResources };
  const capture = status.capture === undefined ? {} : { capture: { mode: status.capture.mode, args: status.capture.args } };
  return JSON.stringify({
    version: status.version,
    templates: status.templates,
    containers: status.containers,
    initContainers: status.initContainers,
    volumes: status.volumes,
    annotations: status.annotations,
    labels: status.labels,
    ...podResources,
    ...capture,
  });
}

function withoutNames(list: unknown, names: ReadonlySet<string>): unknown {
  if (!Array.isArray(list)) return list;
  return list.filter((item) => !(isPlainObject(item) && typeof item.name === 'string' && names.has(item.name)));
}

function withoutKeys(map: unknown, keys: readonly string[]): unknown {
  if (!isPlainObject(map)) return map;
  const out = { ...map };
  for (const key of keys) delete out[key];
  return out;
}

/**
 * Remove a previous injection from `pod` (a private copy the caller owns; top levels are replaced,
 * never mutated in place). Containers are looked up in both lists because the proxy moves between
 * them with the native-sidecar setting.
 */
export function stripInjection(pod: JsonObject, status: InjectionStatus): JsonObject {
  const containerNames = new Set([...status.containers, ...status.initContainers]);
  const spec = { ...(pod.spec as JsonObject) };
  for (const key of ['containers', 'initContainers'] as const) {
    if (spec[key] !== undefined) spec[key] = withoutNames(spec[key], containerNames);
  }
  if (Array.isArray(spec.initContainers) && spec.initContainers.length === 0) delete spec.initContainers;
  if (status.podResources !== undefined && spec.resources !== undefined) spec.resources = restorePodResources(spec.resources, status.podResources);
  if (spec.volumes !== undefined) {
    spec.volumes = withoutNames(spec.volumes, new Set(status.volumes));
    if (Array.isArray(spec.volumes) && spec.volumes.length === 0) delete spec.volumes;
  }
  const metadata = { ...(pod.metadata as JsonObject) };
  metadata.annotations = withoutKeys(metadata.annotations, [...status.annotations, statusKey]);
  if (metadata.labels !== undefined && status.labels.length > 0) metadata.labels = withoutKeys(metadata.labels, status.labels);
  // Injection creates the maps it writes to: a map left empty goes, as it was not there before.
  if (isPlainObject(metadata.annotations) && Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  if (status.labels.length > 0 && isPlainObject(metadata.labels) && Object.keys(metadata.labels).length === 0) delete metadata.labels;
  if (Object.keys(metadata).length === 0) {
    const { metadata: _dropped, ...rest } = pod;
    return { ...rest, spec };
  }
  return { ...pod, metadata, spec };
}
