// The pods bench/webhook-load.ts sends: the AdmissionReview bodies a real kube-apiserver sends a
// mutating webhook when the controllers create the pods of the real public manifests in
// test/corpus/manifests (and ../shared/corpus/manifests).
//
// Two halves:
// - corpusWorkloadRequests(): each workload's pod as its controller sends it to the API server:
//   the template with the controller's metadata (generateName, or a StatefulSet's ordinal name; its
//   labels, such as pod-template-hash, controller-revision-hash or job-name; an ownerReference;
//   a StatefulSet's claim volumes; a DaemonSet's node affinity), and which controller sends it.
//   Manifests are read as `pillion inject` reads them (kubectl's YAML 1.1 rules, Lists descended
//   into, every built-in workload kind).
// - loadCorpusPods(): what the API server made of those requests, captured from a real
//   kube-apiserver (e2e/corpus/admission-reviews.test.ts, which checks and, with UPDATE_GOLDEN=1,
//   rewrites bench/fixtures/admission-reviews.json): its defaults, what its admission plugins
//   add before webhooks run (the service account token volume and mounts, tolerations, priority),
//   the managedFields of the controller's create, the userInfo of the controller's service account,
//   in the API server's own field order. The bench sends these bodies as they are.
//
// Every request carries a revision token (`revisionPlaceholder`) where a new rollout of the workload
// would change it: the pod-template-hash or controller-revision-hash, the owner's name and uid (and
// so the managedFields key of the ownerReference). The load generator writes a counter there, so
// each "unseen" pod is distinct the way the pods of a new ReplicaSet, Job or revision are.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseStream } from '../injector/cli/stream.js';
import { toKubeValue } from '../injector/cli/kube-yaml.js';
import { findWorkloads, readPath } from '../injector/cli/workloads.js';
import { isPlainObject } from '../injector/core/json.js';
import type { JsonObject } from '../injector/core/types.js';
import { corpusFiles } from '../test/support/corpus.js';
import { repoPath } from '../test/support/paths.js';

/** Ten hex digits the load generator overwrites per request (never a counter value it writes). */
export const revisionPlaceholder = 'fffffffffe';

/** request.uid of every captured body (the API server's own is random). */
export const capturedUid = '705ab4f5-6393-11e8-b7cc-000000000000';

/** The managedFields entries' time in every captured body (the API server's is the second of the create). */
export const capturedTime = '"time":"2026-01-01T00:00:00Z"';

/** Where the captured bodies are kept. */
export const capturedReviewsFile = repoPath('bench', 'fixtures', 'admission-reviews.json');

/** A workload's pod as its controller sends it to the API server. */
export interface WorkloadRequest {
  /** Where it comes from: file, kind and name. */
  readonly source: string;
  readonly kind: string;
  readonly namespace: string;
  /** The controller's service account, which creates the pod. */
  readonly creator: string;
  readonly pod: JsonObject;
}

/** One captured AdmissionReview, as kept in capturedReviewsFile. */
export interface CapturedReview {
  readonly source: string;
  readonly kind: string;
  readonly namespace: string;
  /** SHA-256 of the request's JSON: ties the body to the corpus and code it was captured from. */
  readonly requestDigest: string;
  /** The body the API server sent, request.uid set to capturedUid (see normalizeCapturedBody). */
  readonly body: string;
}

export interface BenchPod {
  readonly source: string;
  readonly kind: string;
  readonly namespace: string;
  /** The AdmissionReview's text, in the API server's field order, with request.uid capturedUid. */
  readonly body: string;
  /** request.object of the body. */
  readonly pod: JsonObject;
  /** How many times revisionPlaceholder occurs in the body. */
  readonly revisionSlots: number;
}

/** Every workload's pod in the corpus as its controller sends it, identical ones (the CRLF copy of a file) once. */
export function corpusWorkloadRequests(files: readonly string[] = corpusFiles()): WorkloadRequest[] {
  const requests: WorkloadRequest[] = [];
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
        requests.push({ source: `${basename(file)}: ${workload.kind}/${workload.name}`, kind: workload.kind, namespace, creator: creatorOf(workload.kind), pod });
      }
    }
  }
  return requests;
}

/** The digest CapturedReview.requestDigest holds for a request. */
export function requestDigest(request: WorkloadRequest): string {
  return createHash('sha256').update(JSON.stringify([request.source, request.namespace, request.creator, request.pod])).digest('hex');
}

/**
 * A captured body made reproducible: the random parts the API server adds (request.uid, the
 * managedFields' time, the token volume's random suffix) replaced by fixed values.
 */
export function normalizeCapturedBody(body: string): string {
  const review = JSON.parse(body) as { request?: { uid?: unknown } };
  const uid = review.request?.uid;
  if (typeof uid !== 'string') throw new Error('captured body has no request.uid');
  return body
    .replace(`"uid":${JSON.stringify(uid)}`, `"uid":"${capturedUid}"`)
    .replace(/"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/g, capturedTime)
    .replace(/kube-api-access-[a-z0-9]{5}/g, 'kube-api-access-x7k2p');
}

/** The captured bodies, as kept in capturedReviewsFile. */
export function loadCapturedReviews(): CapturedReview[] {
  return JSON.parse(readFileSync(capturedReviewsFile, 'utf8')) as CapturedReview[];
}

/** The fixture's text for `reviews`: a JSON array, one review a line, so a diff shows which pod changed. */
export function formatCapturedReviews(reviews: readonly CapturedReview[]): string {
  return `[\n${reviews.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`;
}

/** The bench's pods: the captured bodies. */
export function loadCorpusPods(): BenchPod[] {
  return loadCapturedReviews().map((r) => {
    const review = JSON.parse(r.body) as { request: { object: JsonObject } };
    return { source: r.source, kind: r.kind, namespace: r.namespace, body: r.body, pod: review.request.object, revisionSlots: r.body.split(revisionPlaceholder).length - 1 };
  });
}

/** The service account of the controller that creates a `kind`'s pods (kube-controller-manager's). */
function creatorOf(kind: string): string {
  const controller: Record<string, string> = {
    Deployment: 'replicaset-controller',
    ReplicaSet: 'replicaset-controller',
    StatefulSet: 'statefulset-controller',
    DaemonSet: 'daemon-set-controller',
    Job: 'job-controller',
    CronJob: 'job-controller',
    ReplicationController: 'replication-controller',
  };
  return `system:serviceaccount:kube-system:${controller[kind] ?? 'replicaset-controller'}`;
}

const token = revisionPlaceholder;
/** A uid whose last ten digits are the revision token. */
const ownerUid = `6f1c1d8e-3c61-4a8e-9d0e-00${token}`;

/** The pod `kind`'s controller sends the API server for `template`. */
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
      // Each volume claim template becomes the pod's claim of that name, as the controller mounts it.
      const claims = (object.spec as JsonObject | undefined)?.volumeClaimTemplates;
      for (const claim of Array.isArray(claims) ? claims : []) {
        const claimName = isPlainObject(claim) && isPlainObject(claim.metadata) ? claim.metadata.name : undefined;
        if (typeof claimName !== 'string') continue;
        const volumes = (Array.isArray(spec.volumes) ? (spec.volumes as unknown[]) : []).filter((v) => !isPlainObject(v) || v.name !== claimName);
        spec.volumes = [...volumes, { name: claimName, persistentVolumeClaim: { claimName: `${claimName}-${name}-0` } }];
      }
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
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}
