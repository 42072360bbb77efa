// Which pods the plugin captures, decided as cheaply as possible: excluded namespaces and
// non-Kubernetes sandboxes without any lookup, then the annotations the runtime passed (no API
// call), and only then one GET of the pod. Unknown is never "not meshed": it is a retryable error.
import type { CniEnvironment, NetworkConfig } from '../protocol/request.js';
import { CniError, specCodes } from '../protocol/errors.js';
import { fetchPodAnnotations, type PodIdentity } from './api.js';
import { decideFromAnnotations, type CaptureDecision } from './contract.js';
import { readKubeconfig } from './kubeconfig.js';

export function podIdentity(env: CniEnvironment): PodIdentity | undefined {
  const namespace = env.args.get('K8S_POD_NAMESPACE');
  const name = env.args.get('K8S_POD_NAME');
  if (namespace === undefined || namespace === '' || name === undefined || name === '') return undefined;
  const uid = env.args.get('K8S_POD_UID');
  return { namespace, name, uid: uid === undefined || uid === '' ? undefined : uid };
}

export async function decideCapture(env: CniEnvironment, conf: NetworkConfig, log: (line: string) => void): Promise<CaptureDecision> {
  const pod = podIdentity(env);
  if (pod === undefined) return { capture: false, reason: 'not a Kubernetes pod (no K8S_POD_NAMESPACE/K8S_POD_NAME in CNI_ARGS)' };
  if (conf.excludeNamespaces.includes(pod.namespace)) return { capture: false, reason: `namespace ${pod.namespace} is excluded` };
  if (conf.runtimeAnnotations !== undefined) return decideFromAnnotations(conf.runtimeAnnotations);
  if (conf.kubeconfig === undefined) {
    throw new CniError(
      specCodes.invalidNetworkConfig,
      'the runtime passed no pod annotations and the network config names no "kubeconfig"',
      `cannot tell whether pod ${pod.namespace}/${pod.name} must be captured`,
    );
  }
  const annotations = await fetchPodAnnotations(readKubeconfig(conf.kubeconfig), pod, { timeoutMs: conf.apiTimeoutMs, attempts: conf.apiAttempts, log });
  return decideFromAnnotations(annotations);
}
