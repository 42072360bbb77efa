// Istio's CNI plugin (istio-cni, sidecar mode) as a contestant of bench/cni-add.ts: the pod it
// captures as Istio's injector leaves it in CNI mode, and its network config.
//
// What istio-cni does on ADD at the pinned version (cni/pkg/plugin): it reads the kubeconfig
// `istio-cni-kubeconfig` in `cni_agent_run_dir`, GETs the pod (it has no pod-annotations path), and
// captures it when it has an `istio-proxy` container and the `sidecar.istio.io/status`
// annotation, with the `traffic.sidecar.istio.io/*` annotations and the proxy's
// `ISTIO_DUAL_STACK` env; then it programs the pod's namespace in-process (setns) with
// istio-iptables' library, which runs the iptables programs. Its DEL does nothing.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CniCluster } from '../../e2e/cni/support/cluster.js';
import { networkName, type CniPod } from '../../e2e/cni/support/node-chain.js';

/** The pod as Istio's injector writes it in CNI mode: the same capture as Pillion's canonical settings. */
export function istioSidecarPod(namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      annotations: {
        'sidecar.istio.io/status': JSON.stringify({ initContainers: ['istio-validation'], containers: ['istio-proxy'], volumes: ['istio-envoy'], imagePullSecrets: null, revision: 'default' }),
        'traffic.sidecar.istio.io/includeInboundPorts': '*',
        'traffic.sidecar.istio.io/excludeInboundPorts': '15020,15021,15090',
        'traffic.sidecar.istio.io/includeOutboundIPRanges': '*',
      },
    },
    spec: {
      containers: [
        { name: 'app', image: 'registry.example/app:1' },
        {
          name: 'istio-proxy',
          image: 'registry.example/proxyv2:1',
          args: ['proxy', 'sidecar'],
          env: [{ name: 'ISTIO_DUAL_STACK', value: 'true' }],
          securityContext: { runAsUser: 1337, runAsGroup: 1337 },
        },
      ],
    },
  };
}

export interface IstioCniSetup {
  /** The folder istio-cni reads its kubeconfig from and writes its rolling log to. */
  readonly runDir: string;
  config(pod: CniPod): Record<string, unknown>;
}

/** Stores the pod and prepares istio-cni's folder with the same kubeconfig Pillion's plugin gets. */
export function prepareIstioCni(cluster: CniCluster, kubeconfig: string, namespace: string, name: string): IstioCniSetup {
  cluster.cp.kubectlOk(['create', '-f', '-'], { input: JSON.stringify(istioSidecarPod(namespace, name)) });
  const runDir = mkdtempSync(join(tmpdir(), 'pillion-bench-istio-cni-'));
  copyFileSync(kubeconfig, join(runDir, 'istio-cni-kubeconfig'));
  return {
    runDir,
    config: (pod) => ({
      cniVersion: '1.0.0',
      name: networkName,
      type: 'istio-cni',
      plugin_log_level: 'error',
      cni_agent_run_dir: runDir,
      exclude_namespaces: ['kube-system'],
      prevResult: pod.prevResult,
    }),
  };
}
