// A real Kubernetes node for e2e tests, entirely inside one network namespace the harness creates:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, containerd and the
// kubelet all run there (upstream Kubernetes built by scripts/get-kube-*.sh, Debian's containerd,
// runc and CNI reference plugins). The node's address, the pod network (bridge + host-local) and
// the Service network exist only in that namespace, so no test traffic can reach the host's
// interfaces, and kube-proxy's and the bridge plugin's rules land in the namespace's own netfilter
// tables, never the host's.
//
// What the node does change outside the namespace, it puts back: the kernel sysctls the kubelet
// tunes (saved first, restored on stop), the cgroups it creates (all under one cgroup root of its
// own, removed on stop), and the mounts under its temporary directory (unmounted on stop). The
// stop path is also registered for a crashed or interrupted run (exit-cleanup.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from './control-plane.js';
import type { ControlPlane } from './control-plane.js';
import { registerExitCleanup } from './exit-cleanup.js';
import { createNamespace, deleteNamespaceNow, runChecked, uniqueName } from './netns.js';
import { readMounts } from './mounts.js';
import { netnsDirState, restoreNetnsDir } from './netns-dir.js';
import { Service } from './process.js';

/** Where the upstream programs are: kube-apiserver and etcd; kubelet and friends; kubectl. */
export interface NodeBinaries {
  readonly controlPlane: string;
  readonly node: string;
  readonly kubectl: string;
}

export interface NodeOptions {
  /** Image archives (docker or OCI) imported into containerd before the kubelet starts. */
  readonly images: readonly string[];
  /** The image the CRI uses for pod sandboxes (must be among `images`). */
  readonly sandboxImage: string;
}

export interface RealNode {
  readonly cp: ControlPlane;
  /** The network namespace everything runs in. */
  readonly ns: string;
  readonly nodeName: string;
  readonly nodeIp: string;
  /** Run argv inside the node's namespace; a non-zero exit is a result. */
  exec(argv: readonly string[], input?: string): { status: number | null; stdout: string; stderr: string };
  /** The kubelet's root directory (its seccomp/ holds Localhost seccomp profiles). */
  readonly kubeletDir: string;
  /**
   * The node's CNI configuration and plugin folders (what /etc/cni/net.d and /opt/cni/bin are on
   * a real node): private to this node, so a CNI installer under test writes there and never into
   * the host's folders. The plugin folder starts with Debian's bridge, host-local, portmap and
   * loopback.
   */
  readonly cniConfDir: string;
  readonly cniBinDir: string;
  /** The pods' footprint on the node: sandboxes the runtime has, pod network namespaces, IP leases. */
  podFootprint(): { sandboxes: number; networkNamespaces: number; leases: number };
  /** crictl against the node's containerd. */
  crictl(args: readonly string[]): { status: number | null; stdout: string; stderr: string };
  /** Everything down, everything the node changed put back. Safe to call twice. */
  stop(): Promise<void>;
}

const nodeName = 'pillion-node';
// Dual stack, IPv4 first (as kubeadm and kind order them): the node, its pods and its Services
// have an address of each family, so the suite can show capture in both. The IPv6 ranges are
// unique local addresses (fd00::/8) that exist only inside the node's namespace.
const nodeIp = '10.250.0.1';
const nodeIp6 = 'fd00:250::1';
/** The node's default gateways: on the node's link, and nobody has them. */
const nowhere = '10.250.0.254';
const nowhere6 = 'fd00:250::fe';
const podCidr = '10.244.0.0/24';
const podCidr6 = 'fd00:244::/64';
const serviceCidr = '10.96.0.0/24';
const serviceCidr6 = 'fd00:96::/112';

/** Kernel settings the kubelet tunes on start (setupKernelTunables); global, so saved and restored. */
const kubeletSysctls = [
  'vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys', 'kernel/keys/root_maxbytes',
];

/** The cgroup v1 hierarchies (and the v2 one, if mounted) the node's cgroup root is made in. */
function cgroupHierarchies(): string[] {
  return readMounts().filter((m) => m.type === 'cgroup' || m.type === 'cgroup2').map((m) => m.point);
}

function readSysctls(): Map<string, string> {
  return new Map(kubeletSysctls.map((name) => [name, readFileSync(join('/proc/sys', name), 'utf8')]));
}

function restoreSysctls(saved: Map<string, string>): void {
  for (const [name, value] of saved) {
    try {
      if (readFileSync(join('/proc/sys', name), 'utf8') !== value) writeFileSync(join('/proc/sys', name), value);
    } catch {
      // keep going: the others still deserve restoring
    }
  }
}

/** Kill every process in a cgroup subtree, then remove the subtree bottom-up. */
function removeCgroupTree(path: string): void {
  if (!existsSync(path)) return;
  for (let attempt = 0; attempt < 50; attempt++) {
    let alive = 0;
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(join(dir, entry.name));
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        alive++;
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    walk(path);
    if (alive === 0) break;
    spawnSync('sleep', ['0.1']);
  }
  const remove = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) remove(join(dir, entry.name));
    try {
      rmdirSync(dir);
    } catch {
      // a frozen or busy cgroup: reported by the caller's check, not fatal to the rest of cleanup
    }
  };
  remove(path);
}

/** Every mount point at or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const points = readMounts().map((m) => m.point).filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

function unmountAll(dir: string): void {
  for (let attempt = 0; attempt < 5; attempt++) {
    const points = mountsUnder(dir);
    if (points.length === 0) return;
    for (const point of points) spawnSync('umount', ['-l', point], { stdio: 'ignore' });
  }
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
}

function containerdConfig(dir: string, sandboxImage: string): string {
  // TOML by hand: every value here is ours (paths under a mkdtemp directory, a fixed image name).
  return `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails to start.
  restrict_oom_score_adj = true
  # Pod network namespaces are bind-mounted under our state directory, not the host's /run/netns.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${dir}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${dir}/cni-bin"
    conf_dir = "${dir}/net.d"
`;
}

function cniConfig(dir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'pillion-e2e',
    plugins: [
      {
        type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true,
        // Leases under our directory, not the host's /var/lib/cni.
        ipam: {
          type: 'host-local', ranges: [[{ subnet: podCidr }], [{ subnet: podCidr6 }]],
          routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }], dataDir: join(dir, 'ipam'),
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
}

function kubeletConfig(dir: string, cgroupRoot: string): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // This host: cgroup v1 with cgroupfs, swap allowed, and the kubelet must not write iptables
    // chains (it would anyway write them into our namespace only, but kube-proxy owns them here).
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot,
    failSwapOn: false,
    makeIPTablesUtilChains: false,
    containerRuntimeEndpoint: `unix://${dir}/containerd.sock`,
    // The API server calls the kubelet (logs, exec) without a client certificate; the port exists
    // only inside the node's namespace.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    podLogsDir: join(dir, 'pod-logs'),
    resolvConf: join(dir, 'resolv.conf'),
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    // Short loops: a test waits on them.
    syncFrequency: '5s',
    fileCheckFrequency: '5s',
    nodeStatusUpdateFrequency: '5s',
    shutdownGracePeriod: '0s',
  });
}

function kubeProxyConfig(kubeconfig: string): string {
  return JSON.stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig },
    hostnameOverride: nodeName,
    clusterCIDR: `${podCidr},${podCidr6}`,
    // Pod → Service → pod on the same bridge: masquerade so replies come back through the node.
    iptables: { masqueradeAll: true },
    // Leave the global conntrack sysctls alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    metricsBindAddress: '127.0.0.1:10249',
    healthzBindAddress: '127.0.0.1:10256',
  });
}

function makeCgroupRoot(name: string): string[] {
  const made: string[] = [];
  for (const hierarchy of cgroupHierarchies()) {
    const path = join(hierarchy, name);
    mkdirSync(path, { recursive: true });
    made.push(path);
    // A new cpuset cgroup starts with no cpus and no memory nodes; give it its parent's.
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(join(hierarchy, file))) writeFileSync(join(path, file), readFileSync(join(hierarchy, file), 'utf8'));
    }
  }
  return made;
}

/** Poll `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function pollUntil<T>(what: string, timeoutMs: number, check: () => T | undefined, detail: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s. ${detail()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function startNode(bins: NodeBinaries, options: NodeOptions): Promise<RealNode> {
  const ns = uniqueName('pillion-node');
  const dir = mkdtempSync(join(tmpdir(), 'pillion-node-'));
  const savedSysctls = readSysctls();
  // Host paths the node's programs use whatever their configuration says: containerd 1.6's shim
  // sockets and fifos, libcni's result cache, the kubelet's device-plugin socket folder and its
  // container-log symlinks. Each is removed on stop when it was not there before.
  const hostPaths = ['/run/containerd', '/var/lib/cni', '/var/lib/kubelet', '/var/log/containers'].filter((p) => !existsSync(p));
  // The node's own namespace is named (`ip netns add`), which may be the host's first.
  const netnsDirBefore = netnsDirState();
  // PILLION_E2E_NODE_LOGS=DIR keeps every daemon's whole stderr there (DIR/<daemon>.log), and
  // PILLION_E2E_KUBELET_V sets the kubelet's verbosity (default 1): for chasing a failure.
  const logDir = process.env.PILLION_E2E_NODE_LOGS;
  if (logDir !== undefined) mkdirSync(logDir, { recursive: true });
  const logOf = (daemon: string) => (logDir === undefined ? {} : { logFile: join(logDir, `${daemon}.log`) });
  const services: Service[] = [];
  let cgroups: string[] = [];
  let cp: ControlPlane | undefined;

  // nsenter, not `ip netns exec`: that one also remounts /sys in a mount namespace of its own,
  // which hides the cgroup mounts from the kubelet and the kubelet's volume mounts from containerd.
  const inNode = (argv: readonly string[]): string[] => ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv];
  const exec = (argv: readonly string[], input?: string) => {
    const [file, ...args] = inNode(argv);
    const result = spawnSync(file!, args, { encoding: 'utf8', input: input ?? '', timeout: 120_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const crictl = (args: readonly string[]) => exec([join(bins.node, 'crictl'), `--runtime-endpoint=unix://${dir}/containerd.sock`, '--timeout=60s', ...args]);

  // The synchronous part of stopping: also what runs if the test process dies.
  const putBack = (): void => {
    for (const service of services) service.killNow();
    for (const cgroup of cgroups) removeCgroupTree(cgroup);
    deleteNamespaceNow(ns);
    restoreNetnsDir(netnsDirBefore);
    unmountAll(dir);
    restoreSysctls(savedSysctls);
    for (const path of hostPaths) rmSync(path, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = registerExitCleanup(putBack);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // The kubelet first, so it restarts nothing; then every sandbox through the CRI (containers
    // stopped, CNI DEL run, pod network namespaces removed); then the daemons; then the rest.
    const kubelet = services.find((s) => s.name === 'kubelet');
    await kubelet?.stop();
    if (services.some((s) => s.name === 'containerd' && s.alive)) crictl(['rmp', '--all', '--force']);
    for (const service of [...services].reverse()) await service.stop();
    await cp?.stop();
    putBack();
    unregister();
  };

  try {
    await createNamespace(ns);
    // The node's address, on a veth link whose peer is in the same namespace; the default route
    // points at an address nobody answers for, so traffic to any address that is neither the
    // node's nor a pod's goes nowhere. (A blackhole default route would not do: a local process
    // connecting to a Service's ClusterIP is refused before kube-proxy's DNAT gets to see it.)
    await runChecked(['ip', '-n', ns, 'link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'node0-peer']);
    await runChecked(['ip', '-n', ns, 'addr', 'add', `${nodeIp}/24`, 'dev', 'node0']);
    // nodad: usable at once (duplicate address detection would hold it "tentative" for a second).
    await runChecked(['ip', '-n', ns, 'addr', 'add', `${nodeIp6}/64`, 'dev', 'node0', 'nodad']);
    await runChecked(['ip', '-n', ns, 'link', 'set', 'node0', 'up']);
    await runChecked(['ip', '-n', ns, 'link', 'set', 'node0-peer', 'up']);
    await runChecked(['ip', '-n', ns, 'route', 'add', 'default', 'via', nowhere, 'dev', 'node0']);
    await runChecked(['ip', '-n', ns, '-6', 'route', 'add', 'default', 'via', nowhere6, 'dev', 'node0']);
    // The namespace's own forwarding switch (per namespace, not the host's): pods reach each other
    // and Services over IPv6 through the bridge as they do over IPv4.
    await runChecked(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    cp = await startControlPlane(bins.controlPlane, bins.kubectl, {
      netns: ns,
      address: nodeIp,
      serviceCidr: `${serviceCidr},${serviceCidr6}`,
      identities: {
        kubelet: { user: `system:node:${nodeName}`, groups: ['system:nodes'] },
        scheduler: { user: 'system:kube-scheduler' },
        'controller-manager': { user: 'system:kube-controller-manager' },
        'kube-proxy': { user: 'system:kube-proxy' },
      },
    });

    for (const sub of ['containerd', 'net.d', 'cni-bin', 'kubelet', 'pod-logs']) mkdirSync(join(dir, sub), { recursive: true });
    for (const plugin of ['bridge', 'host-local', 'portmap', 'loopback']) symlinkSync(join('/usr/lib/cni', plugin), join(dir, 'cni-bin', plugin));
    writeFiles(dir, {
      'containerd.toml': containerdConfig(dir, options.sandboxImage),
      'kubelet.json': kubeletConfig(dir, `/${ns}`),
      'kube-proxy.json': kubeProxyConfig(cp.kubeconfigOf('kube-proxy')),
      // No DNS service in this cluster: pods resolve nothing rather than the host's resolver.
      'resolv.conf': 'nameserver 127.0.0.1\n',
    });
    writeFileSync(join(dir, 'net.d', '10-pillion-e2e.conflist'), cniConfig(dir));

    services.push(await Service.start('containerd', inNode(['containerd', '--config', join(dir, 'containerd.toml')]), logOf('containerd')));
    await pollUntil('containerd answering on its socket', 30_000, () => (crictl(['version']).status === 0 ? true : undefined),
      () => services.at(-1)!.stderr.slice(-2000));
    for (const archive of options.images) {
      const imported = exec(['ctr', `--address=${dir}/containerd.sock`, '--namespace=k8s.io', 'images', 'import', '--no-unpack', archive]);
      if (imported.status !== 0) throw new Error(`ctr images import ${archive}: ${imported.stderr.trim()}`);
    }

    // The cgroup root is named like the namespace: unique to this process, and easy to trace.
    cgroups = makeCgroupRoot(ns);
    services.push(await Service.start('kubelet', inNode([join(bins.node, 'kubelet'),
      `--config=${join(dir, 'kubelet.json')}`, `--kubeconfig=${cp.kubeconfigOf('kubelet')}`, `--root-dir=${join(dir, 'kubelet')}`, `--cert-dir=${join(dir, 'kubelet', 'pki')}`,
      `--hostname-override=${nodeName}`, `--node-ip=${nodeIp},${nodeIp6}`, `--v=${process.env.PILLION_E2E_KUBELET_V || '1'}`]), logOf('kubelet')));
    services.push(await Service.start('kube-scheduler', inNode([join(bins.node, 'kube-scheduler'),
      `--kubeconfig=${cp.kubeconfigOf('scheduler')}`, '--leader-elect=false', '--bind-address=127.0.0.1', '--secure-port=10259']), logOf('kube-scheduler')));
    services.push(await Service.start('kube-controller-manager', inNode([join(bins.node, 'kube-controller-manager'),
      `--kubeconfig=${cp.kubeconfigOf('controller-manager')}`, '--leader-elect=false', '--bind-address=127.0.0.1',
      '--secure-port=10257', '--use-service-account-credentials=true', `--service-account-private-key-file=${join(cp.dir, 'sa.key')}`,
      `--root-ca-file=${cp.caFile}`, '--cluster-name=pillion-e2e', `--service-cluster-ip-range=${serviceCidr},${serviceCidr6}`]), logOf('kube-controller-manager')));
    services.push(await Service.start('kube-proxy', inNode([join(bins.node, 'kube-proxy'), `--config=${join(dir, 'kube-proxy.json')}`]), logOf('kube-proxy')));

    const control = cp;
    await pollUntil('node Ready', 120_000, () => {
      const ready = control.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      return ready.stdout.trim() === 'True' ? true : undefined;
    }, () => services.map((s) => `${s.name}${s.alive ? '' : ' (exited)'}: ${s.stderr.slice(-1500)}`).join('\n'));
    // The default namespace's service account, made by the controller-manager: without it no pod
    // can be created there.
    await pollUntil('default service account', 60_000, () => (control.kubectl(['get', 'serviceaccount', 'default']).status === 0 ? true : undefined));
    const countFiles = (folder: string, keep: (name: string) => boolean): number =>
      (existsSync(folder) ? readdirSync(folder).filter(keep).length : 0);
    const podFootprint = () => ({
      sandboxes: crictl(['pods', '-q']).stdout.split('\n').filter(Boolean).length,
      // containerd's CRI plugin mounts each pod's network namespace here (netns_mounts_under_state_dir).
      networkNamespaces: countFiles(join(dir, 'containerd', 'state', 'io.containerd.grpc.v1.cri', 'netns'), () => true),
      // host-local: one file per leased address, named by it.
      leases: countFiles(join(dir, 'ipam', 'pillion-e2e'), (name) => /^[0-9a-f.:]+$/.test(name)),
    });
    return {
      cp: control, ns, nodeName, nodeIp, kubeletDir: join(dir, 'kubelet'), cniConfDir: join(dir, 'net.d'), cniBinDir: join(dir, 'cni-bin'),
      exec, crictl, podFootprint, stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function commandText(argv: readonly string[]): string {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return result.status === 0 ? result.stdout : `(${argv.join(' ')} failed: ${result.stderr.trim()})`;
}

/**
 * What the host has that a node could change: its namespaces, links, addresses, routes, every
 * netfilter ruleset (both iptables flavours and nft), the sysctls the kubelet tunes, the top of
 * every cgroup hierarchy, its mounts and the runtime paths outside the node's directory. Taken
 * before a node starts and after it stops, the two must be equal. Packet counters and the save
 * tools' dated comments are left out: they change by themselves.
 */
export function snapshotHost(): Record<string, string> {
  const rules = (argv: string[]): string => commandText(argv).split('\n').filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, '')).join('\n');
  const snapshot: Record<string, string> = {
    netns: commandText(['ip', 'netns', 'list']),
    links: commandText(['ip', '-o', 'link', 'show']).split('\n').map((l) => l.split(':').slice(0, 2).join(':')).join('\n'),
    addresses: commandText(['ip', '-o', 'addr', 'show']),
    routes: commandText(['ip', 'route', 'show', 'table', 'all']) + commandText(['ip', '-6', 'route', 'show', 'table', 'all']),
    nft: commandText(['nft', 'list', 'ruleset']),
    sysctls: [...readSysctls()].map(([k, v]) => `${k}=${v.trim()}`).join('\n'),
    cgroups: cgroupHierarchies().map((h) => `${h}: ${readdirSync(h, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort().join(' ')}`).join('\n'),
    mounts: readFileSync('/proc/self/mounts', 'utf8').split('\n').sort().join('\n'),
    paths: ['/run/containerd', '/var/lib/cni', '/run/netns', '/var/lib/kubelet', '/var/log/containers', '/var/log/pods', '/etc/cni'].map((p) => `${p}: ${existsSync(p)}`).join('\n'),
  };
  for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save']) snapshot[tool] = rules([tool]);
  return snapshot;
}
