// The pods bench/webhook-load.ts sends: the pod templates of the real public manifests in
// test/corpus/manifests (and ../shared/corpus/manifests when present), each turned into the pod its
// controller would create and the API server would hand a mutating webhook, wrapped in an
// AdmissionReview in the API server's field order.
//
// Manifests are read as `pillion inject` reads them (injector/cli: kubectl's YAML 1.1 rules, Lists
// descended into, every built-in workload kind). A template becomes a pod the way its controller
// and the API server make one, as far as a webhook can see it:
// - the controller's metadata: generateName (or a StatefulSet's ordinal name), its labels
//   (pod-template-hash, controller-revision-hash, job-name, …) and an ownerReference;
// - the API server's defaults (terminationMessagePath, imagePullPolicy, probe timings, dnsPolicy, …)
//   and what its built-in admission plugins add before webhooks run: the service account and its
//   kube-api-access projected volume mounted in every container, the not-ready/unreachable
//   tolerations.
// It is an approximation (a real API server fills in more defaults), stated so that the bodies are
// of the size and shape a webhook really receives, not the bare templates.
//
// Every body carries a revision token (`revisionPlaceholder`) where a new rollout of the workload
// would change it: the pod-template-hash or controller-revision-hash, the owner's name and uid. The
// load generator writes a counter there, so each "unseen" pod is distinct the way the pods of a new
// ReplicaSet, Job or revision are.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseStream } from '../injector/cli/stream.js';
import { toKubeValue } from '../injector/cli/kube-yaml.js';
import { findWorkloads, readPath } from '../injector/cli/workloads.js';
import { isPlainObject } from '../injector/core/json.js';
import type { JsonObject } from '../injector/core/types.js';
import { repoPath } from '../test/support/paths.js';

/** Ten hex digits the load generator overwrites per request (never a counter value it writes). */
export const revisionPlaceholder = 'fffffffffe';

export interface BenchPod {
  /** Where it comes from: file, kind and name. */
  readonly source: string;
  readonly kind: string;
  readonly namespace: string;
  readonly pod: JsonObject;
  /** How many times revisionPlaceholder occurs in the pod. */
  readonly revisionSlots: number;
}

export function corpusFiles(): string[] {
  const dirs = [repoPath('test', 'corpus', 'manifests'), repoPath('..', 'shared', 'corpus', 'manifests')];
  return dirs.filter((dir) => existsSync(dir)).flatMap((dir) =>
    readdirSync(dir).filter((name) => /\.(ya?ml|json)$/.test(name)).sort().map((name) => join(dir, name)));
}

/** Every workload's pod in the corpus, identical ones (the CRLF copy of a file) once. */
export function loadCorpusPods(files: readonly string[] = corpusFiles()): BenchPod[] {
  const pods: BenchPod[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const stream = parseStream(basename(file), readFileSync(file, 'utf8'));
    for (const document of stream.documents) {
      if (document.doc.errors.length > 0) throw new Error(`${file} document ${document.index}: ${document.doc.errors[0]?.message}`);
      const value = toKubeValue(document.doc);
      for (const workload of findWorkloads(value).workloads) {
        if (workload.templatePath.length === workload.objectPath.length) continue; // a bare Pod has no controller
        const object = readPath(value, workload.objectPath) as JsonObject;
        const template = readPath(value, workload.templatePath) as JsonObject;
        const namespace = workload.namespace ?? 'default';
        const key = JSON.stringify([workload.kind, namespace, workload.name, template]);
        if (seen.has(key)) continue;
        seen.add(key);
        const pod = controllerPod(workload.kind, workload.name, namespace, object, structuredClone(template));
        const revisionSlots = JSON.stringify(pod).split(revisionPlaceholder).length - 1;
        pods.push({ source: `${basename(file)}: ${workload.kind}/${workload.name}`, kind: workload.kind, namespace, pod, revisionSlots });
      }
    }
  }
  return pods;
}

const token = revisionPlaceholder;
/** A uid whose last ten digits are the revision token. */
const ownerUid = `6f1c1d8e-3c61-4a8e-9d0e-00${token}`;

/** The pod `kind`'s controller creates from `template`, as the API server passes it to webhooks. */
function controllerPod(kind: string, name: string, namespace: string, object: JsonObject, template: JsonObject): JsonObject {
  const templateMeta = isPlainObject(template.metadata) ? template.metadata : {};
  const labels: Record<string, unknown> = isPlainObject(templateMeta.labels) ? { ...templateMeta.labels } : {};
  const annotations = isPlainObject(templateMeta.annotations) ? { ...templateMeta.annotations } : undefined;
  const spec = isPlainObject(template.spec) ? template.spec : {};
  const owner = (ownerKind: string, ownerName: string, apiVersion: string): JsonObject[] =>
    [{ apiVersion, kind: ownerKind, name: ownerName, uid: ownerUid, controller: true, blockOwnerDeletion: true }];
  const meta: JsonObject = {};
  switch (kind) {
    case 'Deployment': {
      labels['pod-template-hash'] = token;
      Object.assign(meta, { generateName: `${name}-${token}-`, ownerReferences: owner('ReplicaSet', `${name}-${token}`, 'apps/v1') });
      break;
    }
    case 'StatefulSet': {
      // A StatefulSet names its pods itself; only a new revision tells them apart.
      Object.assign(labels, { 'apps.kubernetes.io/pod-index': '0', 'controller-revision-hash': `${name}-${token}`, 'statefulset.kubernetes.io/pod-name': `${name}-0` });
      Object.assign(meta, { name: `${name}-0`, ownerReferences: owner('StatefulSet', name, 'apps/v1') });
      spec.hostname ??= `${name}-0`;
      if (typeof (object.spec as JsonObject | undefined)?.serviceName === 'string') spec.subdomain ??= (object.spec as JsonObject).serviceName;
      break;
    }
    case 'DaemonSet': {
      Object.assign(labels, { 'controller-revision-hash': token, 'pod-template-generation': '1' });
      Object.assign(meta, { generateName: `${name}-`, ownerReferences: owner('DaemonSet', name, 'apps/v1') });
      // The controller pins each pod to its node.
      spec.affinity = {
        ...(isPlainObject(spec.affinity) ? spec.affinity : {}),
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] }] } },
      };
      break;
    }
    case 'Job':
    case 'CronJob': {
      const jobName = kind === 'CronJob' ? `${name}-29400000` : name;
      const jobUid = ownerUid;
      Object.assign(labels, { 'batch.kubernetes.io/controller-uid': jobUid, 'batch.kubernetes.io/job-name': jobName, 'controller-uid': jobUid, 'job-name': jobName });
      Object.assign(meta, { generateName: `${jobName}-`, ownerReferences: owner('Job', jobName, 'batch/v1') });
      break;
    }
    default: {
      // ReplicaSet, ReplicationController.
      Object.assign(meta, { generateName: `${name}-`, ownerReferences: owner(kind, name, kind === 'ReplicaSet' ? 'apps/v1' : 'v1') });
      break;
    }
  }
  const metadata: JsonObject = { ...(meta.name === undefined ? { generateName: meta.generateName } : { name: meta.name }), namespace, labels };
  if (annotations !== undefined) metadata.annotations = annotations;
  metadata.ownerReferences = meta.ownerReferences;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: defaultedSpec(spec) };
}

/** The API server's defaults and its built-in admission plugins' additions that webhooks see. */
function defaultedSpec(spec: JsonObject): JsonObject {
  const serviceAccount = typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : typeof spec.serviceAccount === 'string' ? spec.serviceAccount : 'default';
  const mountToken = spec.automountServiceAccountToken !== false;
  const tokenVolume = 'kube-api-access-x7k2p';
  const defaultContainer = (container: unknown): unknown => {
    if (!isPlainObject(container)) return container;
    const image = typeof container.image === 'string' ? container.image : '';
    const lastPart = image.slice(image.lastIndexOf('/') + 1);
    const tag = lastPart.includes('@') ? 'digest' : lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : 'latest';
    const out: JsonObject = { ...container };
    out.resources ??= {};
    out.terminationMessagePath ??= '/dev/termination-log';
    out.terminationMessagePolicy ??= 'File';
    out.imagePullPolicy ??= tag === 'latest' ? 'Always' : 'IfNotPresent';
    if (Array.isArray(out.ports)) out.ports = out.ports.map((p: unknown) => (isPlainObject(p) ? { ...p, protocol: p.protocol ?? 'TCP' } : p));
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const p = out[probe];
      if (!isPlainObject(p)) continue;
      const defaulted: JsonObject = { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3, ...p };
      if (isPlainObject(p.httpGet)) defaulted.httpGet = { scheme: 'HTTP', ...p.httpGet };
      out[probe] = defaulted;
    }
    if (mountToken) {
      const mounts: unknown[] = Array.isArray(out.volumeMounts) ? (out.volumeMounts as unknown[]) : [];
      out.volumeMounts = [...mounts, { name: tokenVolume, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }];
    }
    return out;
  };
  const volumes = (Array.isArray(spec.volumes) ? spec.volumes : []).map((v: unknown) => {
    if (!isPlainObject(v)) return v;
    const out: JsonObject = { ...v };
    for (const source of ['secret', 'configMap']) {
      const value = out[source];
      if (isPlainObject(value)) out[source] = { defaultMode: 420, ...value };
    }
    if (isPlainObject(out.hostPath)) out.hostPath = { type: '', ...out.hostPath };
    return out;
  });
  if (mountToken) {
    volumes.push({
      name: tokenVolume,
      projected: {
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
        defaultMode: 420,
      },
    });
  }
  const tolerations: unknown[] = Array.isArray(spec.tolerations) ? [...(spec.tolerations as unknown[])] : [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => isPlainObject(t) && (t.key === key || (t.key === undefined && t.operator === 'Exists')))) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  const out: JsonObject = {
    ...spec,
    ...(volumes.length === 0 ? {} : { volumes }),
    containers: (Array.isArray(spec.containers) ? spec.containers : []).map(defaultContainer),
    restartPolicy: spec.restartPolicy ?? 'Always',
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
    dnsPolicy: spec.dnsPolicy ?? 'ClusterFirst',
    serviceAccountName: serviceAccount,
    serviceAccount,
    securityContext: spec.securityContext ?? {},
    schedulerName: spec.schedulerName ?? 'default-scheduler',
    tolerations,
    priority: spec.priority ?? 0,
    enableServiceLinks: spec.enableServiceLinks ?? true,
    preemptionPolicy: spec.preemptionPolicy ?? 'PreemptLowerPriority',
  };
  if (Array.isArray(spec.initContainers)) out.initContainers = spec.initContainers.map(defaultContainer);
  return out;
}
