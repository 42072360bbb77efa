// AdmissionReview requests as the API server sends them, and helpers to read the answers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import fjp from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { JsonObject } from '../../../../injector/core/types.js';
import { repoPath } from '../../../support/paths.js';

/** A Deployment-made pod as the API server admits it (defaults filled in, generateName only). */
export function loadDeploymentPod(): JsonObject {
  return JSON.parse(readFileSync(repoPath('test', 'injector', 'webhook', 'fixtures', 'deployment-pod.json'), 'utf8')) as JsonObject;
}

export function podWithAnnotations(annotations: Record<string, string>, namespace = 'shop'): JsonObject {
  const pod = loadDeploymentPod();
  const metadata = pod.metadata as JsonObject;
  metadata.annotations = annotations;
  metadata.namespace = namespace;
  return pod;
}

export function buildReview(pod: JsonObject | null, options: { uid?: string; namespace?: string; operation?: string } = {}): JsonObject {
  const metadata = (pod?.metadata ?? {}) as JsonObject;
  // Field order as the API server writes it (Go struct order), which the decision cache relies on.
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: options.uid ?? randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: options.namespace ?? metadata.namespace ?? 'shop',
      operation: options.operation ?? 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts', 'system:authenticated'] },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

export interface ReviewAnswer {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: string;
  readonly patch?: string;
  readonly warnings?: string[];
  readonly status?: { code: number; message: string };
}

/** Check the AdmissionReview envelope and return its response. */
export function readAnswer(body: string, uid: string): ReviewAnswer {
  const review = JSON.parse(body) as { apiVersion?: unknown; kind?: unknown; response?: ReviewAnswer };
  assert.equal(review.apiVersion, 'admission.k8s.io/v1');
  assert.equal(review.kind, 'AdmissionReview');
  assert.ok(review.response !== undefined, 'response missing');
  assert.equal(review.response.uid, uid);
  assert.equal(typeof review.response.allowed, 'boolean');
  return review.response;
}

export function decodePatch(answer: ReviewAnswer): Operation[] {
  assert.equal(answer.patchType, 'JSONPatch');
  assert.equal(typeof answer.patch, 'string');
  return JSON.parse(Buffer.from(answer.patch ?? '', 'base64').toString('utf8')) as Operation[];
}

/** Apply as the API server would: to a copy, validating every operation. */
export function applyPatchTo(pod: JsonObject, patch: Operation[]): JsonObject {
  return fjp.applyPatch(structuredClone(pod), patch, true, false).newDocument;
}

export function containerNames(pod: JsonObject): { containers: string[]; initContainers: string[] } {
  const spec = pod.spec as { containers?: { name: string }[]; initContainers?: { name: string }[] };
  return {
    containers: (spec.containers ?? []).map((c) => c.name),
    initContainers: (spec.initContainers ?? []).map((c) => c.name),
  };
}

/** The proxy may be a regular container or a native sidecar (an init container); either counts. */
export function hasProxy(pod: JsonObject): boolean {
  const names = containerNames(pod);
  return [...names.containers, ...names.initContainers].includes('pillion-proxy') && names.initContainers.includes('pillion-init');
}
