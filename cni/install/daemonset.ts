// On SIGTERM: is the DaemonSet being deleted (uninstall) or only rolled (leave everything in
// place)? Asked of the API server with the agent's own service account: the DaemonSet is gone
// (404) or carries a deletionTimestamp → deleted. Anything else, including no answer, keeps the
// node as it is: an installed entry is repaired by the next agent, a missing one would let mesh
// pods start uncaptured.
import { KubeApi } from './kube-api.js';

export type DaemonSetFate = 'deleted' | 'present' | 'unknown';

export async function daemonSetFate(server: string, serviceAccountDir: string, namespace: string, name: string, timeoutMs = 3000): Promise<DaemonSetFate> {
  const api = new KubeApi({ server, serviceAccountDir, timeoutMs });
  try {
    const response = await api.call('GET', `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/daemonsets/${encodeURIComponent(name)}`);
    if (response.status === 404) return 'deleted';
    if (response.status !== 200) return 'unknown';
    const ds = JSON.parse(response.body) as { metadata?: { deletionTimestamp?: string } };
    return ds.metadata?.deletionTimestamp !== undefined ? 'deleted' : 'present';
  } catch {
    return 'unknown';
  }
}
