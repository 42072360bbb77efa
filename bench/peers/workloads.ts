// The manifests that bench/startup.ts hands to `pillion inject -f` and `istioctl kube-inject -f`:
// Istio's own bookinfo sample (14 documents: 6 Deployments, 4 Services, 4 ServiceAccounts), one
// Deployment with 1,500 env vars (about 80 KB), and 200 copies of bookinfo (2,800 documents,
// 1,200 Deployments), each copy in a namespace of its own so no two objects share a name.
// Everything is generated deterministically: the same bytes on every machine and every run.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

function count(text: string, re: RegExp): number {
  return (text.match(re) ?? []).length;
}

/** Writes the three manifests into `dir` (created) and describes them. */
export function writeWorkloads(dir: string): Workload[] {
  mkdirSync(dir, { recursive: true });
  const bookinfo = readFileSync(bookinfoSource(), 'utf8');
  const texts: { key: string; label: string; text: string }[] = [
    { key: 'bookinfo', label: 'bookinfo (14 docs)', text: bookinfo },
    { key: 'env1500', label: 'one Deployment, 1,500 env vars', text: manyEnvDeployment(1500) },
    { key: 'bookinfo200', label: '200 × bookinfo (1,200 Deployments)', text: replicate(bookinfo, 200, 'bookinfo') },
  ];
  return texts.map(({ key, label, text }) => {
    const file = join(dir, `${key}.yaml`);
    writeFileSync(file, text);
    const deployments = count(text, /^kind: Deployment$/gm);
    const documents = count(text, /^kind: /gm);
    return { key, label: `${label}, ${Math.round(Buffer.byteLength(text) / 1024)} KB`, file, bytes: Buffer.byteLength(text), documents, deployments };
  });
}
