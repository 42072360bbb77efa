// Where the node keeps its CNI configuration and plugin binaries, per platform (docs/cni.md,
// "Installer"). Paths are the host's: the agent reaches them under --host-root (the DaemonSet
// mounts the host's directories there) and writes host paths into the files the runtime reads.

export interface PlatformPaths {
  /** The directory the kubelet/containerd read network configurations from. */
  readonly netDir: string;
  /** The directory the runtime looks for plugin executables in. */
  readonly binDir: string;
}

export const presets: Readonly<Record<string, PlatformPaths>> = {
  default: { netDir: '/etc/cni/net.d', binDir: '/opt/cni/bin' },
  // GKE's node image keeps /opt read-only; its containerd looks in /home/kubernetes/bin.
  gke: { netDir: '/etc/cni/net.d', binDir: '/home/kubernetes/bin' },
  // k3s ships its own containerd with the directories below. Since k3s-io/k3s#10868 (k3s 1.31.2,
  // backported to 1.28-1.30, October 2024) its containerd reads plugins from the static data/cni;
  // the older data/current/bin moved with every k3s upgrade and is no longer read.
  k3s: { netDir: '/var/lib/rancher/k3s/agent/etc/cni/net.d', binDir: '/var/lib/rancher/k3s/data/cni' },
};

export function presetPaths(name: string): PlatformPaths {
  const found = presets[name];
  if (found === undefined) throw new Error(`unknown preset ${JSON.stringify(name)} (known: ${Object.keys(presets).join(', ')})`);
  return found;
}
