// The manifests that bench/startup.ts hands to `pillion inject -f` and `istioctl kube-inject -f`:
// Istio's own bookinfo sample (14 documents: 6 Deployments, 4 Services, 4 ServiceAccounts), one
// Deployment with 1,500 env vars (about 80 KB), and 200 copies of bookinfo (2,800 documents,
// 1,200 Deployments), each copy in a namespace of its own so no two objects share a name, and
// those 1,200 Deployments as `kubectl get deployments -A -o json` prints them from a cluster.
// Everything is generated deterministically: the same bytes on every machine and every run.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoPath } from '../../test/support/paths.js';

export interface Workload {
  /** Short key used in result files. */
  readonly key: string;
  /** Row label in the table. */
  readonly label: string;
  readonly file: string;
  readonly bytes: number;
  readonly documents: number;
  /** Workloads (Deployments) both tools should inject. */
  readonly deployments: number;
}

/** Where the bookinfo sample is: the shared corpus (Istio's samples/bookinfo/platform/kube/bookinfo.yaml). */
export function bookinfoSource(): string {
  const candidates = [
    process.env.PILLION_BOOKINFO,
    repoPath('..', 'shared', 'corpus', 'manifests', 'istio-bookinfo.yaml'),
  ];
  for (const c of candidates) if (c !== undefined && c !== '' && existsSync(c)) return c;
  throw new Error('no bookinfo manifest: set PILLION_BOOKINFO to Istio\'s samples/bookinfo/platform/kube/bookinfo.yaml');
}

/** One Deployment whose only container carries `count` env vars (55 bytes each: 1,500 make 81 KB). */
export function manyEnvDeployment(count: number): string {
  const lines = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: many-env',
    '  labels:',
    '    app: many-env',
    'spec:',
    '  replicas: 1',
    '  selector:',
    '    matchLabels:',
    '      app: many-env',
    '  template:',
    '    metadata:',
    '      labels:',
    '        app: many-env',
    '        version: v1',
    '    spec:',
    '      containers:',
    '      - name: app',
    '        image: registry.example/many-env:1.0',
    '        ports:',
    '        - containerPort: 8080',
    '          name: http',
    '        env:',
  ];
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(4, '0');
    lines.push(`        - name: VAR_${n}`, `          value: "x-${((i * 2654435761) % 4294967296).toString(16).padStart(8, '0')}"`);
  }
  return `${lines.join('\n')}\n`;
}

/** `copies` copies of a manifest, copy i with every top-level object in namespace `${prefix}-i`. */
export function replicate(text: string, copies: number, prefix: string): string {
  if (/^ {2}namespace:/m.test(text)) throw new Error('the manifest already names namespaces');
  const parts: string[] = [];
  for (let i = 0; i < copies; i++) {
    parts.push(text.replace(/^metadata:\n/gm, `metadata:\n  namespace: ${prefix}-${i}\n`).replace(/\n*$/, '\n'));
  }
  return parts.join('---\n');
}

type Json = Record<string, unknown>;

/** `value` with every object's keys in order, as Go prints an unstructured object. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys((value as Json)[key])]));
}

/** A Deployment as the API server gives it back after `kubectl apply`: defaults, the last-applied annotation, metadata and status filled in. */
function asServed(applied: Json, i: number): Json {
  const metadata = applied.metadata as Json;
  const spec = applied.spec as Json;
  const template = spec.template as Json;
  const podSpec = template.spec as Json;
  const uid = (n: number): string => `${(n * 2654435761 % 4294967296).toString(16).padStart(8, '0')}-7c1e-4d2a-9b3f-${String(n).padStart(12, '0')}`;
  const time = `2026-11-${String(1 + (i % 28)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:14:07Z`;
  const containers = (podSpec.containers as Json[]).map((c) => ({
    imagePullPolicy: 'IfNotPresent',
    resources: {},
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    ...c,
    ports: ((c.ports as Json[] | undefined) ?? []).map((p) => ({ protocol: 'TCP', ...p })),
  }));
  const conditions = (type: string, reason: string, message: string): Json => ({ lastTransitionTime: time, lastUpdateTime: time, message, reason, status: 'True', type });
  return {
    ...applied,
    metadata: {
      ...metadata,
      annotations: { 'deployment.kubernetes.io/revision': '1', 'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(sortKeys(applied))}\n` },
      creationTimestamp: time,
      generation: 1,
      resourceVersion: String(100_000 + i * 37),
      uid: uid(i),
    },
    spec: {
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 10,
      strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
      ...spec,
      template: {
        metadata: { creationTimestamp: null, ...(template.metadata as Json) },
        spec: {
          dnsPolicy: 'ClusterFirst',
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          securityContext: {},
          terminationGracePeriodSeconds: 30,
          ...podSpec,
          ...(typeof podSpec.serviceAccountName === 'string' ? { serviceAccount: podSpec.serviceAccountName } : {}),
          containers,
        },
      },
    },
    status: {
      availableReplicas: 1,
      conditions: [conditions('Available', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'), conditions('Progressing', 'NewReplicaSetAvailable', `ReplicaSet "${String(metadata.name)}-${uid(i).slice(0, 10)}" has successfully progressed.`)],
      observedGeneration: 1,
      readyReplicas: 1,
      replicas: 1,
      updatedReplicas: 1,
    },
  };
}

/** The Deployments of a YAML stream as `kubectl get deployments -A -o json` prints them once applied: one v1 List, keys sorted, 4 spaces. */
export function kubectlJsonList(text: string): string {
  const deployments = parseAllDocuments(text).map((doc) => doc.toJS() as Json | null).filter((o): o is Json => o?.kind === 'Deployment');
  const items = deployments.map((d, i) => sortKeys(asServed(d, i)));
  return `${JSON.stringify({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } }, null, 4)}\n`;
}

function count(text: string, re: RegExp): number {
  return (text.match(re) ?? []).length;
}

/** Writes the four manifests into `dir` (created) and describes them. */
export function writeWorkloads(dir: string): Workload[] {
  mkdirSync(dir, { recursive: true });
  const bookinfo = readFileSync(bookinfoSource(), 'utf8');
  const bookinfo200 = replicate(bookinfo, 200, 'bookinfo');
  const texts: { key: string; label: string; text: string; extension?: string }[] = [
    { key: 'bookinfo', label: 'bookinfo (14 docs)', text: bookinfo },
    { key: 'env1500', label: 'one Deployment, 1,500 env vars', text: manyEnvDeployment(1500) },
    { key: 'bookinfo200', label: '200 × bookinfo (1,200 Deployments)', text: bookinfo200 },
    { key: 'deployments-json', label: '`kubectl get deployments -A -o json` of those 1,200', text: kubectlJsonList(bookinfo200), extension: 'json' },
  ];
  return texts.map(({ key, label, text, extension }) => {
    const file = join(dir, `${key}.${extension ?? 'yaml'}`);
    writeFileSync(file, text);
    const json = extension === 'json';
    // A JSON List is one document; its items are counted by their kind lines.
    const deployments = count(text, json ? /^ {12}"kind": "Deployment",$/gm : /^kind: Deployment$/gm);
    const documents = json ? 1 : count(text, /^kind: /gm);
    return { key, label: `${label}, ${Math.round(Buffer.byteLength(text) / 1024)} KB`, file, bytes: Buffer.byteLength(text), documents, deployments };
  });
}
