// On SIGTERM: is the DaemonSet being deleted (uninstall) or only rolled (leave everything in
// place)? Asked of the API server with the agent's own service account: the DaemonSet is gone
// (404) or carries a deletionTimestamp → deleted. Anything else, including no answer, keeps the
// node as it is: an installed entry is repaired by the next agent, a missing one would let mesh
// pods start uncaptured.
import { request } from 'node:https';
import { readServiceAccount } from './kubeconfig.js';

export type DaemonSetFate = 'deleted' | 'present' | 'unknown';

export function daemonSetFate(server: string, serviceAccountDir: string, namespace: string, name: string, timeoutMs = 3000): Promise<DaemonSetFate> {
  let material: { token: string; ca: string };
  try {
    material = readServiceAccount(serviceAccountDir);
  } catch {
    return Promise.resolve('unknown');
  }
  const url = new URL(`/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/daemonsets/${encodeURIComponent(name)}`, server);
  return new Promise((resolve) => {
    const req = request(url, { ca: material.ca, headers: { authorization: `Bearer ${material.token}`, accept: 'application/json' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode === 404) return resolve('deleted');
        if (res.statusCode !== 200) return resolve('unknown');
        try {
          const ds = JSON.parse(body) as { metadata?: { deletionTimestamp?: string } };
          resolve(ds.metadata?.deletionTimestamp !== undefined ? 'deleted' : 'present');
        } catch {
          resolve('unknown');
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve('unknown'));
    req.end();
  });
}
