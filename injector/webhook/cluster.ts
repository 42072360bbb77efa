// The cluster's version, read once at start-up from the API server kube-api.ts finds.
import { isPlainObject } from '../core/json.js';
import type { KubeApi } from './kube-api.js';

/**
 * The cluster's version ("v1.37.2"), for `nativeSidecar: auto` when the config names none: the
 * webhook knows which API server calls it, so it need not be told. Any authenticated client may
 * read /version (system:public-info-viewer). Rejects after `timeoutMs` or on any error.
 */
export async function readClusterVersion(api: KubeApi, timeoutMs = 5000): Promise<string> {
  const info = await api.request('GET', '/version', { timeoutMs });
  if (!isPlainObject(info) || typeof info.gitVersion !== 'string') throw new Error('GET /version: the answer has no gitVersion');
  return info.gitVersion;
}
