// The kubeconfig the installer writes for the plugin (read by cni/pod/kubeconfig.ts): JSON,
// the token and the CA inline (the plugin runs on the host, where the agent's projected
// service-account volume is not), mode 0600. Rewritten when the token rotates.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ServiceAccountSource {
  /** Holds `token` and `ca.crt` (the projected service-account volume). */
  readonly dir: string;
  /** The API server as the host reaches it, https only. */
  readonly server: string;
}

/** The in-cluster API server address from the environment the kubelet gives every pod. */
export function inClusterServer(env: NodeJS.ProcessEnv): string | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (host === undefined || host === '') return undefined;
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export interface ServiceAccountMaterial {
  readonly token: string;
  readonly ca: string;
}

/** Reads token and CA; throws an Error saying which is missing. */
export function readServiceAccount(dir: string): ServiceAccountMaterial {
  const read = (name: string): string => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (error) {
      throw new Error(`cannot read the service-account ${name} in ${dir}: ${(error as Error).message}`, { cause: error });
    }
  };
  const token = read('token').trim();
  if (token === '') throw new Error(`the service-account token in ${dir} is empty`);
  return { token, ca: read('ca.crt') };
}

export function renderKubeconfig(server: string, material: ServiceAccountMaterial): Buffer {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'pillion-cni',
    clusters: [
      { name: 'cluster', cluster: { server, 'certificate-authority-data': Buffer.from(material.ca).toString('base64') } },
    ],
    users: [{ name: 'pillion-cni', user: { token: material.token } }],
    contexts: [{ name: 'pillion-cni', context: { cluster: 'cluster', user: 'pillion-cni' } }],
  };
  return Buffer.from(`${JSON.stringify(config, null, 2)}\n`);
}
