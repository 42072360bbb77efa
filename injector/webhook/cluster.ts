// The API server the webhook talks to, loaded once the same way for every use (namespace labels,
// the cluster's version): in-cluster (service account) when KUBERNETES_SERVICE_HOST is set; else
// the kubeconfig KUBECONFIG names (a webhook run outside the cluster, as in development or the
// real-API-server e2e test); else none.
import { KubeConfig, VersionApi } from '@kubernetes/client-node';

export function loadClusterConfig(): KubeConfig | undefined {
  const config = new KubeConfig();
  if ((process.env.KUBERNETES_SERVICE_HOST ?? '') !== '') {
    config.loadFromCluster();
  } else if ((process.env.KUBECONFIG ?? '') !== '') {
    config.loadFromDefault();
  } else {
    return undefined;
  }
  return config;
}

/**
 * The cluster's version ("v1.37.2"), for `nativeSidecar: auto` when the config names none: the
 * webhook knows which API server calls it, so it need not be told. Any authenticated client may
 * read /version (system:public-info-viewer). Rejects after `timeoutMs` or on any error.
 */
export async function readClusterVersion(config: KubeConfig, timeoutMs = 5000): Promise<string> {
  const api = config.makeApiClient(VersionApi);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const info = await Promise.race([api.getCode(), timeout]);
    return info.gitVersion;
  } finally {
    clearTimeout(timer);
  }
}
