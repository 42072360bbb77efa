// Which manifest objects carry a pod, and where its template sits.
//
// Only the Kubernetes built-in workload kinds are recognised, by kind and API group, so a custom
// resource that happens to be called `Deployment` in another group is left alone (its schema is
// not ours to guess). A missing apiVersion is accepted: kubectl would reject the object anyway,
// and the user more likely forgot the field than meant a custom kind.
import { isPlainObject } from '../core/json.js';
import { describeName } from '../core/names.js';
import type { JsonObject } from '../core/types.js';

export type Path = readonly (string | number)[];

export interface WorkloadKindInfo {
  /** API groups the kind lives in (`''` is the core group). */
  readonly groups: readonly string[];
  /** Path from the object to its pod template; empty for a bare Pod. */
  readonly templatePath: Path;
}

// Older groups (extensions, apps/v1beta*) are accepted: their template paths are identical.
const workloadKinds: Readonly<Record<string, WorkloadKindInfo>> = {
  Pod: { groups: [''], templatePath: [] },
  ReplicationController: { groups: [''], templatePath: ['spec', 'template'] },
  Deployment: { groups: ['apps', 'extensions'], templatePath: ['spec', 'template'] },
  StatefulSet: { groups: ['apps'], templatePath: ['spec', 'template'] },
  DaemonSet: { groups: ['apps', 'extensions'], templatePath: ['spec', 'template'] },
  ReplicaSet: { groups: ['apps', 'extensions'], templatePath: ['spec', 'template'] },
  Job: { groups: ['batch'], templatePath: ['spec', 'template'] },
  CronJob: { groups: ['batch'], templatePath: ['spec', 'jobTemplate', 'spec', 'template'] },
};

/** A pod template found in a document. */
export interface WorkloadLocation {
  /** Path from the document root to the workload object (non-empty inside a List). */
  readonly objectPath: Path;
  /** Path from the document root to the pod template (the object itself for a Pod). */
  readonly templatePath: Path;
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
}

/** A workload whose pod template is missing or is not a mapping. */
export interface BrokenWorkload {
  readonly objectPath: Path;
  readonly kind: string;
  readonly name: string;
  readonly problem: string;
}

function groupOf(apiVersion: unknown): string | undefined {
  if (apiVersion === undefined) return undefined;
  if (typeof apiVersion !== 'string') return '\0not-a-group';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function readPath(value: unknown, path: Path): unknown {
  let current = value;
  for (const key of path) {
    if (Array.isArray(current) && typeof key === 'number') current = current[key];
    else if (isPlainObject(current) && typeof key === 'string') current = current[key];
    else return undefined;
  }
  return current;
}

function namespaceOf(object: JsonObject): string | undefined {
  const metadata = isPlainObject(object.metadata) ? object.metadata : {};
  return typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : undefined;
}

/** The workload kind info for an object, or undefined when it carries no pod we handle. */
export function workloadKindOf(object: JsonObject): WorkloadKindInfo | undefined {
  if (typeof object.kind !== 'string' || !Object.hasOwn(workloadKinds, object.kind)) return undefined;
  const info = workloadKinds[object.kind];
  const group = groupOf(object.apiVersion);
  if (info === undefined || (group !== undefined && !info.groups.includes(group))) return undefined;
  return info;
}

/** `List` (what `kubectl get -o yaml` prints) and typed lists such as `DeploymentList`. */
export function isList(object: JsonObject): boolean {
  if (typeof object.kind !== 'string' || !Array.isArray(object.items)) return false;
  if (object.kind === 'List') return true;
  const itemKind = object.kind.endsWith('List') ? object.kind.slice(0, -'List'.length) : '';
  return Object.hasOwn(workloadKinds, itemKind);
}

/**
 * Every pod template in a document's value, in document order, descending into Lists (which may
 * nest). Workloads that lack a usable template are returned separately: they are errors.
 */
export function findWorkloads(root: unknown): { workloads: WorkloadLocation[]; broken: BrokenWorkload[] } {
  const workloads: WorkloadLocation[] = [];
  const broken: BrokenWorkload[] = [];
  const visit = (value: unknown, objectPath: Path): void => {
    if (!isPlainObject(value)) return;
    if (isList(value)) {
      (value.items as unknown[]).forEach((item, i) => visit(item, [...objectPath, 'items', i]));
      return;
    }
    const info = workloadKindOf(value);
    if (info === undefined) return;
    const kind = value.kind as string;
    const name = describeName(value, '<unnamed>');
    const template = readPath(value, info.templatePath);
    const spec = isPlainObject(template) ? template.spec : undefined;
    if (!isPlainObject(template) || !isPlainObject(spec)) {
      const where = info.templatePath.length === 0 ? 'spec' : [...info.templatePath, 'spec'].join('.');
      broken.push({ objectPath, kind, name, problem: `${kind} ${name} has no pod template (${where} is missing or not a mapping)` });
      return;
    }
    workloads.push({
      objectPath,
      templatePath: [...objectPath, ...info.templatePath],
      kind,
      namespace: namespaceOf(value),
      name,
    });
  };
  visit(root, []);
  return { workloads, broken };
}

export { readPath };
