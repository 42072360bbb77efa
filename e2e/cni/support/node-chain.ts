// A node for CNI tests without touching the host's network: a namespace plays the node (the
// bridge, its gateway addresses and the host ends of the veths live there), and each pod is a
// namespace of its own, wired by Debian's reference plugins run the way a runtime runs them
// (loopback, then bridge with host-local IPAM) with `ip netns exec NODE` so that the plugins'
// "host side" is the node namespace. Dual-stack: 10.250.0.0/24 and fd00:250::/64, inside these
// namespaces only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerExitCleanup } from '../../support/exit-cleanup.js';
import { createNamespace, deleteNamespace, inNamespace, runChecked, uniqueName } from '../../support/netns.js';
import { describeOutcome, runCni } from './cni-runner.js';

export const networkName = 'pillion-e2e';
export const gateway = { 4: '10.250.0.1', 6: 'fd00:250::1' } as const;

export interface CniPod {
  readonly ns: string;
  readonly netnsPath: string;
  readonly containerId: string;
  /** The bridge plugin's result: what pillion-cni gets as prevResult. */
  readonly prevResult: Record<string, unknown>;
  readonly ip: { readonly 4: string; readonly 6: string };
}

export interface CniNode {
  readonly ns: string;
  addPod(tag: string): Promise<CniPod>;
  removePod(pod: CniPod): Promise<void>;
  /** The bridge plugin's network config (the benchmark times its ADD). */
  bridgeConfig(): Record<string, unknown>;
  destroy(): Promise<void>;
}

/** Duplicate address detection would keep new IPv6 addresses unusable for a second or two. */
async function skipDad(ns: string): Promise<void> {
  await runChecked(inNamespace(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']));
}

export async function startCniNode(tag: string): Promise<CniNode> {
  const ns = uniqueName(`pcn-${tag}-node`);
  const dir = mkdtempSync(join(tmpdir(), 'pillion-cni-node-'));
  const unregisterDir = registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  await createNamespace(ns);
  await skipDad(ns);
  const pods = new Set<CniPod>();
  let count = 0;

  const bridgeConfig = (): Record<string, unknown> => ({
    cniVersion: '1.0.0',
    name: networkName,
    type: 'bridge',
    bridge: 'pcni0',
    isGateway: true,
    ipMasq: false,
    hairpinMode: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.250.0.0/24' }], [{ subnet: 'fd00:250::/64' }]], dataDir: join(dir, 'ipam') },
  });
  const inNode = (plugin: string): string[] => inNamespace(ns, [`/usr/lib/cni/${plugin}`]);

  const removePod = async (pod: CniPod): Promise<void> => {
    pods.delete(pod);
    // bridge DEL releases the lease; it is run even when the namespace is already gone.
    const del = await runCni({ command: 'DEL', argv: inNode('bridge'), config: bridgeConfig(), netns: pod.netnsPath, containerId: pod.containerId });
    await deleteNamespace(pod.ns);
    if (del.exitCode !== 0) throw new Error(describeOutcome(`bridge DEL ${pod.ns}`, del));
  };

  return {
    ns,
    bridgeConfig,
    async addPod(podTag) {
      count++;
      const podNs = uniqueName(`pcn-${tag}-${podTag}`);
      await createNamespace(podNs);
      const netnsPath = `/run/netns/${podNs}`;
      const containerId = `${tag}-${podTag}-${count}`;
      try {
        await skipDad(podNs);
        const lo = await runCni({ command: 'ADD', argv: inNode('loopback'), config: { cniVersion: '1.0.0', name: 'cni-loopback', type: 'loopback' }, netns: netnsPath, containerId });
        if (lo.exitCode !== 0) throw new Error(describeOutcome('loopback ADD', lo));
        const bridge = await runCni({ command: 'ADD', argv: inNode('bridge'), config: bridgeConfig(), netns: netnsPath, containerId });
        if (bridge.exitCode !== 0 || bridge.json === undefined) throw new Error(describeOutcome('bridge ADD', bridge));
        const ips = (bridge.json.ips as { address: string }[]).map((i) => i.address.split('/')[0] ?? '');
        const pod: CniPod = {
          ns: podNs,
          netnsPath,
          containerId,
          prevResult: bridge.json,
          ip: { 4: ips.find((a) => !a.includes(':')) ?? '', 6: ips.find((a) => a.includes(':')) ?? '' },
        };
        pods.add(pod);
        return pod;
      } catch (error) {
        await deleteNamespace(podNs);
        throw error;
      }
    },
    removePod,
    async destroy() {
      for (const pod of [...pods]) await removePod(pod).catch(() => undefined);
      await deleteNamespace(ns);
      rmSync(dir, { recursive: true, force: true });
      unregisterDir();
    },
  };
}
