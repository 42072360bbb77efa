// One shared environment for the plugin's end-to-end tests: the executable, a tools-only PATH,
// the API server with the plugin's identity and the stored pods, a node namespace with a server
// on the bridge's gateway, and a way to run pillion-cni for a pod the way a runtime would.
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { requireKubectl } from '../../../test/deploy/support/manifests.js';
import { requirePrivileges, skipOrFail } from '../../../test/support/privileges.js';
import { requireControlPlaneBinaries } from '../../support/control-plane.js';
import { inNamespace, runChecked } from '../../support/netns.js';
import { nftRuleset, saveRules } from '../../support/iptables.js';
import type { Service } from '../../support/process.js';
import { runCni, type CniOutcome } from './cni-runner.js';
import { startCniCluster, type CniCluster } from './cluster.js';
import { networkName, startCniNode, type CniNode, type CniPod } from './node-chain.js';
import { ensureSeaBuilt, toolsOnlyPath } from './plugin-executable.js';
import { startServer } from './pod-services.js';

/** What the injector's formatInitArgs writes for the shipped defaults: the settings CNI mode receives. */
export const canonicalArgs = ['apply', '--proxy-uid=1337', '--proxy-gid=1337', '--outbound-port=15001', '--inbound-port=15006', '--inbound-ports=*', '--exclude-inbound-ports=15020-15021,15090', '--outbound-cidrs=*'];

export function statusWith(capture: unknown): Record<string, string> {
  return { 'pillion.dev/status': JSON.stringify({ version: 'e2e', templates: ['sidecar'], containers: ['pillion-proxy'], initContainers: [], volumes: [], annotations: [], labels: [], capture }) };
}

export const meshedAnnotations = statusWith({ mode: 'cni', args: canonicalArgs });

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
}

export interface PluginCall {
  readonly pod: PodRef;
  /** Pod annotations passed by the runtime (containerd's capability); absent: the plugin must ask the API server. */
  readonly runtimeAnnotations?: Record<string, string>;
  /** Network config fields to add or override (cniVersion, kubeconfig, ...). */
  readonly config?: Record<string, unknown>;
  readonly extraEnv?: Record<string, string>;
}

export interface PluginEnv {
  readonly cluster: CniCluster;
  readonly node: CniNode;
  readonly plugin: string;
  readonly path: string;
  readonly nodeServer: Service;
  readonly pods: { readonly web: PodRef; readonly webInit: PodRef; readonly plain: PodRef };
  run(pod: CniPod, command: 'ADD' | 'DEL' | 'CHECK', call: PluginCall): Promise<CniOutcome>;
  destroy(): Promise<void>;
}

export function pluginConfig(pod: CniPod, call: PluginCall, kubeconfig: string): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: networkName,
    type: 'pillion-cni',
    kubeconfig,
    ...(call.runtimeAnnotations === undefined ? {} : { runtimeConfig: { 'io.kubernetes.cri.pod-annotations': call.runtimeAnnotations } }),
    prevResult: pod.prevResult,
    ...call.config,
  };
}

/** Privileges and peers, or undefined after skipOrFail. */
export function requirePluginPeers(t: TestContext): { bin: string; kubectl: string } | undefined {
  if (!requirePrivileges(t, ['ip', 'nsenter', 'sysctl', 'ss', 'setpriv', 'python3', 'haproxy', 'iptables-nft', 'ip6tables-nft', 'iptables-legacy', 'ip6tables-legacy'])) return undefined;
  const missing = ['loopback', 'bridge', 'host-local'].filter((plugin) => !existsSync(`/usr/lib/cni/${plugin}`));
  if (missing.length > 0) {
    skipOrFail(t, `needs Debian's CNI reference plugins in /usr/lib/cni (apt-get install containernetworking-plugins): ${missing.join(', ')} missing`);
    return undefined;
  }
  const bin = requireControlPlaneBinaries(t);
  const kubectl = requireKubectl(t);
  if (bin === undefined || kubectl === undefined) return undefined;
  return { bin, kubectl };
}

export async function startPluginEnv(bin: string, kubectl: string): Promise<PluginEnv> {
  const plugin = ensureSeaBuilt();
  const path = toolsOnlyPath();
  const cluster = await startCniCluster(bin, kubectl, ['shop', 'plain']);
  let node: CniNode | undefined;
  try {
    const webUid = cluster.createPod('shop', 'web', meshedAnnotations);
    cluster.createPod('shop', 'web-init', statusWith(undefined));
    cluster.createPod('plain', 'app');
    node = await startCniNode('pl');
    // The gateway addresses appear on the bridge with the first pod; the server binds the wildcard.
    const nodeServer = await startServer(node.ns, 'node', [8080]);
    const readyNode = node;
    return {
      cluster,
      node,
      plugin,
      path,
      nodeServer,
      pods: { web: { namespace: 'shop', name: 'web', uid: webUid }, webInit: { namespace: 'shop', name: 'web-init' }, plain: { namespace: 'plain', name: 'app' } },
      run: (pod, command, call) =>
        runCni({
          command,
          argv: [plugin],
          config: pluginConfig(pod, call, cluster.kubeconfig),
          netns: pod.netnsPath,
          containerId: pod.containerId,
          args: {
            IgnoreUnknown: '1',
            K8S_POD_NAMESPACE: call.pod.namespace,
            K8S_POD_NAME: call.pod.name,
            K8S_POD_INFRA_CONTAINER_ID: pod.containerId,
            ...(call.pod.uid === undefined ? {} : { K8S_POD_UID: call.pod.uid }),
          },
          path,
          ...(call.extraEnv === undefined ? {} : { extraEnv: call.extraEnv }),
        }),
      async destroy() {
        await nodeServer.stop();
        await readyNode.destroy();
        await cluster.stop();
      },
    };
  } catch (error) {
    await node?.destroy().catch(() => undefined);
    await cluster.stop();
    throw error;
  }
}

/**
 * Everything ADD could change in a namespace: the whole nf_tables ruleset (normalised: empty
 * built-in chains that iptables-nft cannot delete again are left out), the legacy tables of
 * both families, and lo's addresses.
 */
export async function snapshotNamespace(ns: string): Promise<string> {
  const parts = [`## nft\n${await nftRuleset(ns)}`];
  for (const family of [4, 6] as const) parts.push(`## legacy IPv${family}\n${await saveRules(ns, 'legacy', family)}`);
  const lo = await runChecked(inNamespace(ns, ['ip', '-o', 'addr', 'show', 'dev', 'lo']));
  parts.push(`## lo\n${lo.replace(/\s+valid_lft.*$/gm, '')}`);
  return parts.join('\n');
}
