// Istio's programs as bench-only peers (built by scripts/get-istio.sh; never product code), and
// the three files `istioctl kube-inject` needs to inject offline, taken from Istio's own
// `istioctl manifest generate` (default profile): the injector ConfigMap's `config` and `values`,
// and the mesh ConfigMap's `mesh`. When manifest generate insists on an API server, it is given
// the kube-apiserver test peer on loopback (e2e/support/control-plane.ts), stopped right after.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoPath } from '../../test/support/paths.js';
import { builtPeer } from '../../test/support/peers.js';

export interface IstioPeers {
  readonly binDir: string;
  readonly pilotAgent: string;
  readonly pilotDiscovery: string;
  readonly istioctl: string;
  readonly istioCni: string;
  /** e.g. v0.0.0-20260827124520-eed52ebb66ad (the folder's name under the cache). */
  readonly version: string;
}

/** The built peers, or an explanation of how to build them. */
export function findIstio(): IstioPeers | string {
  const r = spawnSync('bash', [repoPath('scripts', 'get-istio.sh'), '--check'], { encoding: 'utf8' });
  const binDir = r.stdout.trim();
  if (r.status !== 0 || binDir === '') return `Istio's programs are not built: run scripts/get-istio.sh (about 7 minutes; ${r.stderr.trim()})`;
  return {
    binDir,
    pilotAgent: join(binDir, 'pilot-agent'),
    pilotDiscovery: join(binDir, 'pilot-discovery'),
    istioctl: join(binDir, 'istioctl'),
    istioCni: join(binDir, 'istio-cni'),
    version: dirname(binDir).split('/').pop()?.replace(/^istio-/, '') ?? 'unknown',
  };
}

export interface InjectFiles {
  readonly injectConfigFile: string;
  readonly valuesFile: string;
  readonly meshConfigFile: string;
  /** How they were made: offline, or with the kube-apiserver peer. */
  readonly how: string;
}

interface ConfigMapDoc {
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
}

function pick(docs: ConfigMapDoc[], name: string, key: string): string {
  const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === name);
  const value = cm?.data?.[key];
  if (typeof value !== 'string' || value === '') throw new Error(`istioctl manifest generate gave no ConfigMap ${name} with data.${key}`);
  return value;
}

function generate(istioctl: string, kubeconfig: string | undefined): { ok: boolean; stdout: string; stderr: string } {
  const args = ['manifest', 'generate', '--set', 'profile=default'];
  if (kubeconfig !== undefined) args.push('--kubeconfig', kubeconfig);
  const r = spawnSync(istioctl, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, KUBECONFIG: kubeconfig ?? '/nonexistent' } });
  return { ok: r.status === 0 && r.stdout.includes('istio-sidecar-injector'), stdout: r.stdout, stderr: r.stderr };
}

async function generateWithApiServer(istioctl: string): Promise<{ stdout: string; how: string }> {
  const apiserver = builtPeer('get-kube-apiserver.sh');
  if (apiserver === undefined) throw new Error('istioctl manifest generate needs an API server and the kube-apiserver peer is not built (scripts/get-kube-apiserver.sh)');
  const { startControlPlane } = await import('../../e2e/support/control-plane.js');
  const plane = await startControlPlane(apiserver, 'kubectl');
  try {
    const r = generate(istioctl, plane.adminKubeconfig);
    if (!r.ok) throw new Error(`istioctl manifest generate failed against the local API server: ${r.stderr.slice(-2000)}`);
    return { stdout: r.stdout, how: `istioctl manifest generate --set profile=default against the kube-apiserver peer at ${plane.server}` };
  } finally {
    await plane.stop();
  }
}

/** The kube-inject files for these peers, generated once and cached beside the binaries. */
export async function injectFiles(peers: IstioPeers, log: (line: string) => void): Promise<InjectFiles> {
  const dir = join(dirname(peers.binDir), 'inject-config');
  const files = {
    injectConfigFile: join(dir, 'inject-config.yaml'),
    valuesFile: join(dir, 'values.json'),
    meshConfigFile: join(dir, 'mesh.yaml'),
  };
  const howFile = join(dir, 'how.txt');
  if (Object.values(files).every((f) => existsSync(f)) && existsSync(howFile)) {
    return { ...files, how: spawnSync('cat', [howFile], { encoding: 'utf8' }).stdout.trim() };
  }
  log('generating istioctl kube-inject files with istioctl manifest generate');
  let out: { stdout: string; how: string };
  const offline = generate(peers.istioctl, undefined);
  if (offline.ok) out = { stdout: offline.stdout, how: 'istioctl manifest generate --set profile=default, offline' };
  else {
    log(`offline manifest generate refused (${offline.stderr.trim().split('\n').pop() ?? ''}); starting the kube-apiserver peer`);
    out = await generateWithApiServer(peers.istioctl);
  }
  const docs = parseAllDocuments(out.stdout).map((d) => d.toJS() as ConfigMapDoc).filter((d) => d !== null && typeof d === 'object');
  const tmp = `${dir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'inject-config.yaml'), pick(docs, 'istio-sidecar-injector', 'config'));
  writeFileSync(join(tmp, 'values.json'), pick(docs, 'istio-sidecar-injector', 'values'));
  writeFileSync(join(tmp, 'mesh.yaml'), pick(docs, 'istio', 'mesh'));
  writeFileSync(join(tmp, 'how.txt'), `${out.how}\n`);
  spawnSync('rm', ['-rf', dir]);
  renameSync(tmp, dir);
  return { ...files, how: out.how };
}
