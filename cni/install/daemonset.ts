// On SIGTERM: is the DaemonSet being deleted (uninstall) or only rolled (leave everything in
// place)? Asked of the API server with the agent's own service account: the DaemonSet is gone
// (404) or carries a deletionTimestamp → deleted. So is an answer that the agent's own identity is
// no longer accepted (401) or no longer allowed to look (403): `kubectl delete -k` and `helm
// uninstall` delete the ServiceAccount and the RBAC with the DaemonSet, often before its pods get
// SIGTERM, and a plugin left behind with a dead kubeconfig fails every ADD that must ask the API
// server. Wrongly uninstalling heals itself (the next agent reinstalls, and the repair catches a
// CNI-mode pod made in between); wrongly staying does not. No answer at all keeps the node as it is.
import { KubeApi } from './kube-api.js';

export type DaemonSetFate = 'deleted' | 'present' | 'unknown';

export async function daemonSetFate(server: string, serviceAccountDir: string, namespace: string, name: string, timeoutMs = 3000): Promise<DaemonSetFate> {
  const api = new KubeApi({ server, serviceAccountDir, timeoutMs });
  try {
    const response = await api.call('GET', `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/daemonsets/${encodeURIComponent(name)}`);
    if (response.status === 404 || response.status === 401 || response.status === 403) return 'deleted';
    if (response.status !== 200) return 'unknown';
    const ds = JSON.parse(response.body) as { metadata?: { deletionTimestamp?: string } };
    return ds.metadata?.deletionTimestamp !== undefined ? 'deleted' : 'present';
  } catch {
    return 'unknown';
  }
}
