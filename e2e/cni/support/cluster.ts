// The API server the plugin asks about pods: the project's real kube-apiserver + etcd test peer,
// an identity for the plugin with only "get pods", namespaces and stored pods (never run).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerExitCleanup } from '../../support/exit-cleanup.js';
import { startControlPlane, type ControlPlane } from '../../support/control-plane.js';
import { startApiGate, type ApiGate } from './api-gate.js';

export const pluginUser = 'pillion-cni';

export interface CniCluster {
  readonly cp: ControlPlane;
  /** Counts (and can stall) the plugin's connections to the API server. */
  readonly gate: ApiGate;
  /** kubeconfig of the plugin's identity, through the gate. */
  readonly kubeconfig: string;
  /** A kubeconfig for `server` with `token` (e.g. a refused token, or an address nobody serves). */
  writeKubeconfig(name: string, options: { server?: string; token?: string }): string;
  createPod(namespace: string, name: string, annotations?: Record<string, string>): string;
  stop(): Promise<void>;
}

export async function startCniCluster(binDir: string, kubectl: string, namespaces: readonly string[]): Promise<CniCluster> {
  const cp = await startControlPlane(binDir, kubectl, { identities: { cni: { user: pluginUser }, nobody: { user: 'nobody-in-particular' } } });
  const dir = mkdtempSync(join(tmpdir(), 'pillion-cni-kubeconfig-'));
  const unregister = registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  let gate: ApiGate | undefined;
  try {
    cp.kubectlOk(['create', 'clusterrole', 'pillion-cni-e2e', '--verb=get', '--resource=pods']);
    cp.kubectlOk(['create', 'clusterrolebinding', 'pillion-cni-e2e', '--clusterrole=pillion-cni-e2e', `--user=${pluginUser}`]);
    for (const ns of namespaces) {
      cp.kubectlOk(['create', 'namespace', ns]);
      // No controller-manager creates default service accounts; the ServiceAccount admission plugin needs one.
      cp.kubectlOk(['create', 'serviceaccount', 'default', '-n', ns]);
    }
    gate = await startApiGate(new URL(cp.server));
    const tokenOf = (name: string): string => {
      const config = JSON.parse(readFileSync(cp.kubeconfigOf(name), 'utf8')) as { users: { user: { token: string } }[] };
      return config.users[0]?.user.token ?? '';
    };
    const writeKubeconfig = (name: string, options: { server?: string; token?: string }): string => {
      const file = join(dir, `${name}.kubeconfig`);
      writeFileSync(file, JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'cni',
        clusters: [{ name: 'e2e', cluster: { server: options.server ?? gate!.url, 'certificate-authority': cp.caFile } }],
        users: [{ name: 'pillion-cni', user: { token: options.token ?? tokenOf('cni') } }],
        contexts: [{ name: 'cni', context: { cluster: 'e2e', user: 'pillion-cni' } }],
      }), { mode: 0o600 });
      return file;
    };
    const createPod = (namespace: string, name: string, annotations: Record<string, string> = {}): string => {
      const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, annotations }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } };
      cp.kubectlOk(['create', '-f', '-'], { input: JSON.stringify(manifest) });
      return cp.kubectlOk(['get', 'pod', '-n', namespace, name, '-o', 'jsonpath={.metadata.uid}']);
    };
    const stopGate = gate;
    const cluster: CniCluster = {
      cp,
      gate,
      kubeconfig: writeKubeconfig('cni', {}),
      writeKubeconfig,
      createPod,
      async stop() {
        await stopGate.close();
        await cp.stop();
        rmSync(dir, { recursive: true, force: true });
        unregister();
      },
    };
    return cluster;
  } catch (error) {
    await gate?.close();
    await cp.stop();
    throw error;
  }
}
