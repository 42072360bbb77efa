// Rendering and parsing the deployment manifests: `kubectl kustomize` for deploy/*, `helm template`
// for charts/pillion, both run as argv arrays (no shell). Objects are compared after parsing, keyed
// by kind/namespace/name, with YAML files embedded in ConfigMaps parsed too, so only meaning counts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { inCI, skipOrFail } from '../../support/privileges.js';
import { repoPath } from '../../support/paths.js';
import { builtPeer } from '../../support/peers.js';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

/** The Kubernetes version helm renders for (a source-built helm defaults to v1.20). */
export const helmKubeVersion = '1.30.0';
export const injectorNamespace = 'pillion-system';

// Kubernetes reads manifests as YAML 1.1 (sigs.k8s.io/yaml): 0440 is octal, `on` is true.
// Parse the same way, or a test would check a different object than the cluster gets.
const k8sYaml = { uniqueKeys: true, version: '1.1' } as const;

/** Parse a multi-document YAML stream; a syntax error anywhere fails, naming `source`. */
export function parseManifests(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text, k8sYaml)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: a document is not a mapping`);
    const obj = value as K8sObject;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string' || typeof obj.metadata?.name !== 'string') {
      throw new Error(`${source}: a document lacks apiVersion, kind or metadata.name`);
    }
    objects.push(obj);
  }
  return objects;
}

export function keyOf(obj: K8sObject): string {
  return `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

/** Objects by key; a duplicate key is an error (kubectl apply would merge them silently). */
export function indexObjects(objects: readonly K8sObject[]): Map<string, K8sObject> {
  const map = new Map<string, K8sObject>();
  for (const obj of objects) {
    const key = keyOf(obj);
    if (map.has(key)) throw new Error(`duplicate object ${key}`);
    map.set(key, obj);
  }
  return map;
}

export function findObject(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind} ${name}, found ${found.length}`);
  return found[0] as K8sObject;
}

/** A copy where ConfigMap data entries named *.yaml are parsed, so formatting does not count. */
export function normaliseObject(obj: K8sObject): unknown {
  const copy = structuredClone(obj) as K8sObject & { data?: Record<string, unknown> };
  if (copy.kind === 'ConfigMap' && copy.data !== undefined) {
    for (const [key, value] of Object.entries(copy.data)) {
      if (key.endsWith('.yaml') && typeof value === 'string') {
        copy.data[key] = parseManifestsValue(value, `ConfigMap ${copy.metadata.name} ${key}`);
      }
    }
  }
  return copy;
}

function parseManifestsValue(text: string, source: string): unknown {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (docs.length !== 1 || docs[0] === undefined || docs[0].errors.length > 0) throw new Error(`${source}: not one valid YAML document`);
  return docs[0].toJS() as unknown;
}

function run(argv: readonly string[], what: string): string {
  const [cmd, ...args] = argv;
  const result = spawnSync(cmd as string, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, cwd: repoPath() });
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what} exited ${String(result.status)}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** Run a command expecting failure; returns its stderr (throws if it succeeds). */
export function runFailing(argv: readonly string[]): { status: number | null; stderr: string } {
  const [cmd, ...args] = argv;
  const result = spawnSync(cmd as string, args, { encoding: 'utf8', cwd: repoPath() });
  if (result.status === 0) throw new Error(`${argv.join(' ')} unexpectedly succeeded`);
  return { status: result.status, stderr: result.stderr };
}

export function findOnPath(bin: string): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', bin], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** kubectl (for its built-in kustomize): skip with a reason on a laptop, fail under CI=true. */
export function requireKubectl(t: TestContext): string | undefined {
  const kubectl = findOnPath('kubectl');
  if (kubectl !== undefined) return kubectl;
  skipOrFail(t, 'needs kubectl on PATH (its built-in kustomize renders deploy/)');
  return undefined;
}

/**
 * helm: $HELM, then PATH, then the cache scripts/get-helm.sh (run by scripts/setup.sh) builds
 * into. Absent → skip with a printed reason on a laptop; a failure under CI=true or
 * PILLION_REQUIRE_HELM=1.
 */
export function requireHelm(t: TestContext): string | undefined {
  const fromEnv = process.env.HELM;
  if (fromEnv !== undefined && fromEnv !== '' && existsSync(fromEnv)) return fromEnv;
  const onPath = findOnPath('helm');
  if (onPath !== undefined) return onPath;
  const cached = builtPeer('get-helm.sh');
  if (cached !== undefined) return cached;
  const mustRun = inCI ? 'CI=true' : process.env.PILLION_REQUIRE_HELM === '1' ? 'PILLION_REQUIRE_HELM=1' : undefined;
  skipOrFail(t, 'needs helm (not on PATH and not built; run scripts/get-helm.sh, about 2 minutes)', mustRun);
  return undefined;
}

// Renders are deterministic and the machine is shared: render each variant once per process.
const renders = new Map<string, string>();

function runCached(argv: readonly string[], what: string): string {
  const key = JSON.stringify(argv);
  let text = renders.get(key);
  if (text === undefined) {
    text = run(argv, what);
    renders.set(key, text);
  }
  return text;
}

export function renderKustomize(kubectl: string, variant: string): string {
  return runCached([kubectl, 'kustomize', repoPath('deploy', variant)], `kubectl kustomize deploy/${variant}`);
}

export function renderHelm(helm: string, sets: readonly string[] = [], kubeVersion = helmKubeVersion): string {
  const argv = [helm, 'template', 'pillion', repoPath('charts', 'pillion'), '--namespace', injectorNamespace, '--kube-version', kubeVersion];
  for (const set of sets) argv.push('--set', set);
  return runCached(argv, `helm template ${sets.join(' ')} (Kubernetes ${kubeVersion})`);
}

export function lintHelm(helm: string): string {
  return run([helm, 'lint', repoPath('charts', 'pillion'), '--namespace', injectorNamespace, '--kube-version', helmKubeVersion], 'helm lint');
}

/** deploy/<variant> rendered by kubectl's kustomize and parsed; undefined when the test skipped. */
export function kustomizeObjects(t: TestContext, variant: string): K8sObject[] | undefined {
  const kubectl = requireKubectl(t);
  return kubectl === undefined ? undefined : parseManifests(renderKustomize(kubectl, variant), `deploy/${variant}`);
}

/** `helm template` of the chart with `--set` values, parsed; undefined when the test skipped. */
export function helmObjects(t: TestContext, sets: readonly string[], kubeVersion = helmKubeVersion): K8sObject[] | undefined {
  const bin = requireHelm(t);
  return bin === undefined ? undefined : parseManifests(renderHelm(bin, sets, kubeVersion), `helm template ${sets.join(' ')} (Kubernetes ${kubeVersion})`);
}
