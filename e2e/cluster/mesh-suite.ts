// The injected-pods suite: Pillion deployed with its own manifests (deploy/self-signed, the webhook
// in-cluster as a pod), then pods that a kubelet really starts, with their capture really
// programmed into their network namespace and the haproxy template as the real proxy. It runs in
// either capture mode: `init` (the pillion-init init container applies the rules) or `cni` (the
// node agent of deploy/cni/component installs pillion-cni, which applies them while the sandbox is
// made; a native-sidecar proxy's hold hook checks the capture, else the unprivileged
// pillion-validation init container does). It only talks to the
// cluster through kubectl, so it runs against whatever cluster it is given: the harness's real
// node (node.test.ts) or a kind cluster (KUBECONFIG, scripts/e2e-kind.sh).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { TestContext } from 'node:test';
import { pillionBin, repoPath } from '../../test/support/paths.js';
import type { KubectlResult } from '../support/control-plane.js';
import { pollUntil } from '../support/node.js';

export interface Cluster {
  kubectl(args: readonly string[], options?: { input?: string }): KubectlResult;
  kubectlOk(args: readonly string[], options?: { input?: string }): string;
}

/** The test app's image: Debian's python3 on the local base (e2e/images/echo). */
export const appImage = 'pillion.test/echo:1';

// The app is constant Python text run with `python3 -c`; its inputs are argv.
// Server: for every connection on each port in argv, one line naming who it saw: the peer address
// (127.0.0.6 or ::6 when the pod's proxy delivered it) and the local address the client dialled.
const serverScript = `
import socket, sys, threading
def serve(port):
    s = socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True)
    while True:
        c, peer = s.accept()
        local = c.getsockname()
        host = peer[0].removeprefix("::ffff:")
        c.sendall(("peer=%s local=%s:%d\\n" % (host, local[0].removeprefix("::ffff:"), local[1])).encode())
        c.close()
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
threading.Event().wait()
`;
// Client: connect to argv[1]:argv[2], print the server's line (or the error), exit 0/1.
const clientScript = `
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10) as c:
        print(c.makefile().readline().strip())
except OSError as e:
    print("error=%s" % e); sys.exit(1)
`;

export type CaptureMode = 'init' | 'cni';

/**
 * What shows an injected pod's capture mode: init mode, the pillion-init container; CNI mode, the
 * status record's `capture.mode` and no pillion-init (a native-sidecar proxy's hold hook checks
 * capture, so the pod has no pillion-validation either; a proxy with a startupProbe of its own, as
 * in the dual-stack-proxy test template, keeps it).
 */
export function injectedMode(pod: { metadata: { annotations?: Record<string, string> }; spec: PodJson['spec'] }): CaptureMode | undefined {
  const text = pod.metadata.annotations?.['pillion.dev/status'];
  if (text === undefined) return undefined;
  const cni = (JSON.parse(text) as { capture?: { mode?: string } }).capture?.mode === 'cni';
  const names = containerNames(pod);
  if (cni) return names.includes('pillion-init') ? undefined : 'cni';
  return names.includes('pillion-init') ? 'init' : undefined;
}

/**
 * The namespaces the suite creates in `mode` (kube-system aside): each mode has its own, so the
 * second run needs no wait for the first one's namespaces to go.
 */
export function meshSuiteNamespaces(mode: CaptureMode): { mesh: string; plain: string; dual: string; restricted: string } {
  const prefix = mode === 'init' ? 'pillion-e2e' : 'pillion-e2e-cni';
  return { mesh: `${prefix}-mesh`, plain: `${prefix}-plain`, dual: `${prefix}-dual`, restricted: `${prefix}-restricted` };
}

export interface MeshSuiteOptions {
  readonly captureMode: CaptureMode;
  /** The kustomization that deploys Pillion: deploy/self-signed, or a CNI overlay (writeCniOverlay). */
  readonly deploy: string;
  /**
   * true: the cluster hands pods an address of each family, and the dual-stack checks must run
   * (the harness's node). false: they run when the pods turn out dual-stack and skip, saying so,
   * when not (kind's default network is IPv4 only).
   */
  readonly dualStack: boolean;
}
const haproxy = { 'pillion.dev/templates': 'haproxy' };

interface PodJson {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { containers: { name: string }[]; initContainers?: { name: string; restartPolicy?: string; lifecycle?: { postStart?: { exec?: { command?: string[] } } } }[]; nodeName?: string };
  status: { podIP?: string; podIPs?: { ip: string }[]; phase?: string; conditions?: { type: string; status: string }[] };
}

function containerNames(pod: { spec: PodJson['spec'] }): string[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name);
}

function deployment(namespace: string, name: string, annotations: Record<string, string>, command: string[], spec: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'app', image: appImage, imagePullPolicy: 'Never', command }],
          ...spec,
        },
      },
    },
  };
}

function list(items: object[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

/** The one Ready pod of Deployment `name` (waits for it). */
async function readyPod(cluster: Cluster, namespace: string, name: string, timeoutMs = 180_000): Promise<PodJson> {
  return pollUntil(`a Ready pod of ${namespace}/${name}`, timeoutMs, () => {
    const got = cluster.kubectl(['get', 'pods', '-n', namespace, '-l', `app=${name}`, '-o', 'json']);
    if (got.status !== 0) return undefined;
    const pods = (JSON.parse(got.stdout) as { items: PodJson[] }).items;
    return pods.find((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  }, () => cluster.kubectl(['get', 'events', '-n', namespace, '--sort-by=.lastTimestamp']).stdout.slice(-3000));
}

/** Run the client in `pod`'s app container: the server's line, or "error=...". */
function connect(cluster: Cluster, namespace: string, pod: string, host: string, port: number): string {
  const result = cluster.kubectl(['exec', '-n', namespace, pod, '-c', 'app', '--', 'python3', '-c', clientScript, host, String(port)]);
  return (result.stdout.trim() || result.stderr.trim());
}

/** A counter of the haproxy frontend `frontend` in `pod`, read from its metrics port inside the pod. */
function frontendConnections(cluster: Cluster, namespace: string, pod: string, frontend: string): number {
  const script = 'import urllib.request;print(urllib.request.urlopen("http://127.0.0.1:15090/stats/prometheus").read().decode())';
  const metrics = cluster.kubectlOk(['exec', '-n', namespace, pod, '-c', 'app', '--', 'python3', '-c', script]);
  const line = metrics.split('\n').find((l) => l.startsWith(`haproxy_frontend_connections_total{proxy="${frontend}"}`));
  return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
}

/** A pod the webhook would inject, for server-side dry runs: what mode does it answer in now? */
const probePod = JSON.stringify({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pillion-e2e-probe', namespace: 'default', annotations: { ...haproxy, 'pillion.dev/inject': 'enabled' } },
  spec: { containers: [{ name: 'app', image: appImage, imagePullPolicy: 'Never', command: ['true'] }] },
});

/** Wait for a rollout in pillion-system; a failure says which, with kubectl's output, the pods and the events. */
function awaitRollout(cluster: Cluster, workload: string): void {
  const rollout = cluster.kubectl(['rollout', 'status', workload, '-n', 'pillion-system', '--timeout=180s']);
  if (rollout.status === 0) return;
  // Gathered only for a failure: two more kubectl runs per rollout otherwise.
  const show = (args: readonly string[]): string => cluster.kubectl([...args, '-n', 'pillion-system']).stdout;
  assert.fail(`kubectl rollout status ${workload} failed (exit ${rollout.status}):\n${rollout.stdout}${rollout.stderr}\n${show(['get', 'pods', '-o', 'wide'])}\n${show(['get', 'events'])}`);
}

/**
 * `options.deploy` applied as shipped (deploy/self-signed, or a CNI overlay of it); returns once
 * the injector's Deployment (and in CNI mode the node agent's DaemonSet) is rolled out and the
 * webhook, reached through the API server, injects in `options.captureMode`.
 */
export async function deployPillion(cluster: Cluster, options: Pick<MeshSuiteOptions, 'captureMode' | 'deploy'>): Promise<void> {
  const applied = cluster.kubectlOk(['apply', '-k', options.deploy]);
  // The injector reloads a changed configuration by itself once the kubelet refreshes the mounted
  // ConfigMap (up to a minute or so); a restart, as an operator would do, makes it prompt.
  if (/configmap\/pillion-injector-config configured/.test(applied)) {
    cluster.kubectlOk(['rollout', 'restart', 'deployment/pillion-injector', '-n', 'pillion-system']);
  }
  awaitRollout(cluster, 'deployment/pillion-injector');
  if (options.captureMode === 'cni') awaitRollout(cluster, 'daemonset/pillion-cni-node');
  await pollUntil('caBundle patched', 60_000, () => {
    const bundles = cluster.kubectlOk(['get', 'mutatingwebhookconfiguration', 'pillion-injector', '-o', 'jsonpath={.webhooks[*].clientConfig.caBundle}']).trim().split(' ');
    return bundles.length === 3 && bundles.every((b) => b.length > 100) ? true : undefined;
  });
  let answer = '';
  await pollUntil(`the webhook to inject in ${options.captureMode} mode`, 120_000, () => {
    const probe = cluster.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: probePod });
    const pod = probe.status === 0 ? JSON.parse(probe.stdout) as PodJson : undefined;
    answer = pod === undefined ? probe.stderr : `${containerNames(pod).join(',')} ${pod.metadata.annotations?.['pillion.dev/status'] ?? ''}`;
    return pod !== undefined && injectedMode(pod) === options.captureMode ? true : undefined;
  }, () => `last answer: ${answer}`);
}

/** Where a node keeps its CNI folders, when not where the DaemonSet's default preset says. */
export interface CniPaths { readonly netDir: string; readonly binDir: string }

/**
 * A kustomization in a new temporary folder (the caller removes it): deploy/self-signed with
 * deploy/cni/component and deploy/cni/own-node-policy, as docs/cni.md tells users to combine them
 * (the agent's repair then runs under the policy, with the token the kubelet mounts). `paths`: the node's CNI
 * folders, patched into the agent's flags and hostPath volumes as docs/cni.md says to for nodes
 * without a preset. `nodeSelector`: the agents run only on nodes with these labels.
 */
export function writeCniOverlay(options: { paths?: CniPaths; nodeSelector?: Record<string, string> } = {}): string {
  const folder = mkdtempSync(join(tmpdir(), 'pillion-e2e-cni-overlay-'));
  const ops: object[] = [];
  const container = '/spec/template/spec/containers/0';
  if (options.paths !== undefined) {
    const { netDir, binDir } = options.paths;
    ops.push(
      { op: 'test', path: `${container}/name`, value: 'agent' },
      { op: 'add', path: `${container}/args/-`, value: `--net-dir=${netDir}` },
      { op: 'add', path: `${container}/args/-`, value: `--bin-dir=${binDir}` },
    );
    for (const [index, volume, path] of [[0, 'cni-net-dir', netDir], [1, 'cni-bin-dir', binDir]] as const) {
      ops.push(
        { op: 'test', path: `/spec/template/spec/volumes/${index}/name`, value: volume },
        { op: 'replace', path: `/spec/template/spec/volumes/${index}/hostPath/path`, value: path },
        { op: 'test', path: `${container}/volumeMounts/${index}/name`, value: volume },
        { op: 'replace', path: `${container}/volumeMounts/${index}/mountPath`, value: `/host${path}` },
      );
    }
  }
  if (options.nodeSelector !== undefined) ops.push({ op: 'add', path: '/spec/template/spec/nodeSelector', value: options.nodeSelector });
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [relative(folder, repoPath('deploy', 'self-signed'))],
    components: [relative(folder, repoPath('deploy', 'cni', 'component')), relative(folder, repoPath('deploy', 'cni', 'own-node-policy'))],
    patches: ops.length === 0 ? [] : [{ target: { kind: 'DaemonSet', name: 'pillion-cni-node' }, patch: JSON.stringify(ops) }],
  };
  writeFileSync(join(folder, 'kustomization.yaml'), JSON.stringify(kustomization, null, 2));
  return folder;
}

/**
 * `pillion inject` (this checkout's CLI) on `objects` with the bundled templates plus the
 * test-only dual-stack-proxy template, for the cluster's version: for pods that must use a template
 * the deployed webhook does not have.
 */
function injectWithTestTemplate(cluster: Cluster, mode: CaptureMode, objects: object[]): string {
  const folder = mkdtempSync(join(tmpdir(), 'pillion-e2e-templates-'));
  try {
    for (const name of readdirSync(repoPath('templates'))) copyFileSync(repoPath('templates', name), join(folder, name));
    copyFileSync(repoPath('e2e', 'cluster', 'templates', 'dual-stack-proxy.yaml'), join(folder, 'dual-stack-proxy.yaml'));
    const version = JSON.parse(cluster.kubectlOk(['version', '-o', 'json'])) as { serverVersion: { major: string; minor: string } };
    const kubeVersion = `${version.serverVersion.major}.${version.serverVersion.minor.replace(/\D+$/, '')}`;
    const injected = spawnSync(process.execPath, [pillionBin, 'inject', '-f', '-', '--templates', folder, '--kube-version', kubeVersion, '--capture-mode', mode],
      { input: list(objects), encoding: 'utf8' });
    assert.equal(injected.status, 0, `pillion inject: ${injected.stderr}`);
    return injected.stdout;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

interface ProxyLogLine { listener: string; orig_addr: string; orig_port: number }

/** The connections a dual-stack-proxy pod's proxy logged (one JSON line each, before forwarding). */
function proxyConnections(cluster: Cluster, namespace: string, pod: string): ProxyLogLine[] {
  return cluster.kubectlOk(['logs', '-n', namespace, pod, '-c', 'pillion-proxy']).split('\n')
    .filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as ProxyLogLine);
}

async function runDualStackChecks(t: TestContext, cluster: Cluster, options: MeshSuiteOptions): Promise<void> {
  const annotations = { 'pillion.dev/templates': 'dual-stack-proxy' };
  const dualNamespace = meshSuiteNamespaces(options.captureMode).dual;
  cluster.kubectlOk(['apply', '-f', '-'], { input: list([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: dualNamespace } }]) });
  cluster.kubectlOk(['apply', '-f', '-'], {
    input: injectWithTestTemplate(cluster, options.captureMode, [
      deployment(dualNamespace, 'server', annotations, ['python3', '-c', serverScript, '8080']),
      deployment(dualNamespace, 'client', annotations, ['sleep', 'infinity']),
    ]),
  });
  cluster.kubectlOk(['apply', '-f', '-'], {
    input: list([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'server', namespace: dualNamespace },
      spec: { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'], selector: { app: 'server' }, ports: [{ name: 'tcp-echo', port: 80, targetPort: 8080 }] } }]),
  });
  const server = await readyPod(cluster, dualNamespace, 'server');
  const client = await readyPod(cluster, dualNamespace, 'client');
  const serverIps = (server.status.podIPs ?? []).map((p) => p.ip);
  const serverIp6 = serverIps.find((ip) => ip.includes(':'));
  const serverIp4 = serverIps.find((ip) => !ip.includes(':'));
  const clusterIp6 = cluster.kubectlOk(['get', 'service', 'server', '-n', dualNamespace, '-o', 'jsonpath={.spec.clusterIPs}'])
    .replace(/[[\]"]/g, '').split(',').find((ip) => ip.includes(':'));
  if (serverIp6 === undefined || serverIp4 === undefined || clusterIp6 === undefined) {
    const why = `pods or Services are not dual-stack here (pod IPs ${serverIps.join(', ')}; Service IPv6 ${clusterIp6 ?? 'none'})`;
    assert.ok(!options.dualStack, `this cluster is meant to be dual-stack: ${why}`);
    t.skip(why);
    return;
  }
  // IPv6 by pod IP and through the Service's IPv6 ClusterIP; IPv4 by pod IP, through the same
  // pods: the app sees its proxy's inbound source of the connection's family.
  assert.equal(connect(cluster, dualNamespace, client.metadata.name, serverIp6, 8080), `peer=::6 local=${serverIp6}:8080`);
  assert.equal(connect(cluster, dualNamespace, client.metadata.name, clusterIp6, 80), `peer=::6 local=${serverIp6}:8080`);
  assert.equal(connect(cluster, dualNamespace, client.metadata.name, serverIp4, 8080), `peer=127.0.0.6 local=${serverIp4}:8080`);
  // Each proxy recorded the original destination of what it carried.
  const outbound = proxyConnections(cluster, dualNamespace, client.metadata.name).filter((c) => c.listener === 'outbound')
    .map((c) => `${c.orig_addr} ${c.orig_port}`);
  assert.deepEqual(outbound, [`${serverIp6} 8080`, `${clusterIp6} 80`, `${serverIp4} 8080`]);
  const inbound = proxyConnections(cluster, dualNamespace, server.metadata.name).filter((c) => c.listener === 'inbound')
    .map((c) => `${c.orig_addr} ${c.orig_port}`);
  assert.deepEqual(inbound, [`${serverIp6} 8080`, `${serverIp6} 8080`, `${serverIp4} 8080`]);
}

export async function runMeshSuite(t: TestContext, cluster: Cluster, options: MeshSuiteOptions): Promise<void> {
  const mode = options.captureMode;
  const { mesh: meshNamespace, plain: plainNamespace } = meshSuiteNamespaces(mode);
  const capture = mode === 'init' ? 'pillion-init' : 'the capture check (the native sidecar\'s hold hook, else pillion-validation)';
  await t.test(`Pillion deploys in-cluster from its own manifests and injects in ${mode} mode`, () => deployPillion(cluster, options));

  let server: PodJson | undefined;
  let client: PodJson | undefined;
  await t.test(`opted-in pods come up Ready with the proxy and ${capture}`, async () => {
    cluster.kubectlOk(['apply', '-f', '-'], {
      input: list([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: meshNamespace, labels: { 'pillion.dev/inject': 'enabled' } } },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: plainNamespace } },
        deployment(meshNamespace, 'server', { ...haproxy, 'pillion.dev/exclude-inbound-ports': '8081' }, ['python3', '-c', serverScript, '8080', '8081']),
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'server', namespace: meshNamespace },
          spec: { selector: { app: 'server' }, ports: [{ name: 'tcp-echo', port: 80, targetPort: 8080 }] } },
        deployment(meshNamespace, 'client', haproxy, ['sleep', 'infinity']),
        // Opted in by its own annotation in a namespace that is not.
        deployment(plainNamespace, 'annotated', { ...haproxy, 'pillion.dev/inject': 'enabled' }, ['sleep', 'infinity']),
      ]),
    });
    server = await readyPod(cluster, meshNamespace, 'server');
    client = await readyPod(cluster, meshNamespace, 'client');
    const annotated = await readyPod(cluster, plainNamespace, 'annotated');
    for (const pod of [server, client, annotated]) {
      assert.equal(injectedMode(pod), mode, `${pod.metadata.name}: ${containerNames(pod).join(',')} ${pod.metadata.annotations?.['pillion.dev/status'] ?? ''}`);
      const proxy = pod.spec.initContainers?.find((c) => c.name === 'pillion-proxy');
      if (mode === 'cni' && proxy !== undefined) {
        // A native sidecar: Ready means its hook's check passed (the kubelet starts nothing after
        // a sidecar whose postStart failed), and no validation container runs besides.
        assert.equal(proxy.lifecycle?.postStart?.exec?.command?.at(-1), '/dev/termination-log', `${pod.metadata.name}: the proxy's hook checks capture`);
        assert.ok(!containerNames(pod).includes('pillion-validation'), `${pod.metadata.name}: no validation container besides the hook`);
      } else if (mode === 'cni') {
        assert.ok(containerNames(pod).includes('pillion-validation'), `${pod.metadata.name}: a regular proxy's pod keeps the validation container`);
      }
      assert.ok(containerNames(pod).includes('pillion-proxy'), `${pod.metadata.name}: ${containerNames(pod).join(',')}`);
      assert.ok(pod.metadata.annotations?.['pillion.dev/status'], `${pod.metadata.name} has no status annotation`);
    }
  });

  await t.test('outbound TCP passes the client proxy and inbound reaches the app through the server proxy', () => {
    assert.ok(server !== undefined && client !== undefined, 'needs the pods of the previous step');
    const serverIp = server.status.podIP!;
    const clientIp = client.status.podIP!;
    const clusterIp = cluster.kubectlOk(['get', 'service', 'server', '-n', meshNamespace, '-o', 'jsonpath={.spec.clusterIP}']).trim();
    const outboundBefore = frontendConnections(cluster, meshNamespace, client.metadata.name, 'outbound');
    const inboundBefore = frontendConnections(cluster, meshNamespace, server.metadata.name, 'inbound');

    // By pod IP: the server app sees its own proxy (127.0.0.6) and the address the client dialled.
    assert.equal(connect(cluster, meshNamespace, client.metadata.name, serverIp, 8080), `peer=127.0.0.6 local=${serverIp}:8080`);
    // Through the Service: the client's proxy dials the ClusterIP it captured; kube-proxy picks the pod.
    assert.equal(connect(cluster, meshNamespace, client.metadata.name, clusterIp, 80), `peer=127.0.0.6 local=${serverIp}:8080`);
    // An excluded inbound port bypasses the server's proxy: the app sees a real peer address
    // (the client pod's, which its own proxy connects from).
    assert.equal(connect(cluster, meshNamespace, client.metadata.name, serverIp, 8081), `peer=${clientIp} local=${serverIp}:8081`);

    assert.equal(frontendConnections(cluster, meshNamespace, client.metadata.name, 'outbound') - outboundBefore, 3,
      'three connections went out through the client proxy');
    assert.equal(frontendConnections(cluster, meshNamespace, server.metadata.name, 'inbound') - inboundBefore, 2,
      'two connections came in through the server proxy (8081 is excluded)');
  });

  await t.test('dual-stack pods are captured in both families, by pod IP and through a Service, with the original destination recorded',
    (tt) => runDualStackChecks(tt, cluster, options));

  await t.test(mode === 'cni'
    ? 'Pod Security "restricted" enforced: a pod that meets it on each of its containers is admitted injected and comes up Ready'
    : 'Pod Security "restricted" enforced: the injected pod is refused, naming pillion-init\'s capabilities', async () => {
    // The API server's own PodSecurity admission runs after the mutating webhooks, on the
    // injected pod. The app sets seccomp and runAsNonRoot on its container, none at pod level:
    // the proxy must carry its own.
    const namespace = meshSuiteNamespaces(mode).restricted;
    const restrictedContainer = {
      runAsUser: 65532, runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    };
    cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'pillion.dev/inject': 'enabled', 'pod-security.kubernetes.io/enforce': 'restricted' } } }),
    });
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'restricted', namespace, annotations: haproxy, labels: { app: 'restricted' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'app', image: appImage, imagePullPolicy: 'Never', command: ['sleep', 'infinity'], securityContext: restrictedContainer }],
      },
    };
    const created = cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify(pod) });
    if (mode === 'init') {
      assert.notEqual(created.status, 0, 'an init-mode pod with NET_ADMIN was admitted under "restricted"');
      assert.match(created.stderr, /violates PodSecurity "restricted/);
      assert.match(created.stderr, /container "pillion-init" must not include "NET_ADMIN"/);
      assert.doesNotMatch(created.stderr, /pillion-proxy/, 'only the capture container breaks "restricted"');
      return;
    }
    assert.equal(created.status, 0, created.stderr);
    const ready = await readyPod(cluster, namespace, 'restricted');
    assert.equal(injectedMode(ready), 'cni');
  });

  await t.test('opted-out, host-network and kube-system pods run unchanged', async () => {
    cluster.kubectlOk(['apply', '-f', '-'], {
      input: list([
        deployment(meshNamespace, 'opted-out', { ...haproxy, 'pillion.dev/inject': 'disabled' }, ['sleep', 'infinity']),
        // On the node's own network: capture here would rewrite the node's rules.
        deployment(meshNamespace, 'host-network', haproxy, ['sleep', 'infinity'], { hostNetwork: true }),
        deployment('kube-system', 'system', { ...haproxy, 'pillion.dev/inject': 'enabled' }, ['sleep', 'infinity']),
      ]),
    });
    for (const [namespace, name] of [[meshNamespace, 'opted-out'], [meshNamespace, 'host-network'], ['kube-system', 'system']] as const) {
      const pod = await readyPod(cluster, namespace, name);
      assert.deepEqual(containerNames(pod), ['app'], `${namespace}/${name}`);
      assert.equal(pod.metadata.annotations?.['pillion.dev/status'], undefined, `${namespace}/${name}`);
    }
  });

  await t.test('a Job completes: its native-sidecar proxy is up before the app runs and does not keep the pod alive', async () => {
    assert.ok(server !== undefined, 'needs the server of an earlier step');
    const serverIp = server.status.podIP!;
    cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'once', namespace: meshNamespace },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { annotations: haproxy },
            spec: {
              restartPolicy: 'Never',
              // Connects at once: had the app started before the proxy listened, the captured
              // connection would have been refused.
              containers: [{ name: 'app', image: appImage, imagePullPolicy: 'Never', command: ['python3', '-c', clientScript, serverIp, '8080'] }],
            },
          },
        },
      }),
    });
    // Polled, not `kubectl wait`: each kubectl run here ends after 60 s. (The slow completions of
    // 2026-12-02 were very likely the kubelet blocked on a full log pipe: see process.ts.)
    const started = Date.now();
    let shown = false;
    await pollUntil('the Job to complete', 180_000, () => {
      const succeeded = cluster.kubectl(['get', 'job', 'once', '-n', meshNamespace, '-o', 'jsonpath={.status.succeeded}']).stdout.trim();
      if (succeeded !== '1' && !shown && Date.now() - started > 20_000) {
        shown = true; // where a slow completion stands, for the log
        console.error(`# the Job's pod after 20 s: ${cluster.kubectl(['get', 'pods', '-n', meshNamespace, '-l', 'job-name=once', '-o', 'jsonpath={.items[*].status}']).stdout}`);
      }
      return succeeded === '1' ? true : undefined;
    }, () => `${cluster.kubectl(['get', 'pods', '-n', meshNamespace, '-l', 'job-name=once', '-o', 'jsonpath={.items[*].status}']).stdout}\n${
      cluster.kubectl(['get', 'events', '-n', meshNamespace, '--field-selector', 'involvedObject.kind=Pod']).stdout.slice(-3000)}`);
    const seconds = (Date.now() - started) / 1000;
    if (seconds > 20) console.error(`# the Job took ${seconds.toFixed(0)} s to complete (its app ran at once)`);
    const pod = (JSON.parse(cluster.kubectlOk(['get', 'pods', '-n', meshNamespace, '-l', 'job-name=once', '-o', 'json'])) as { items: PodJson[] }).items[0]!;
    const proxy = pod.spec.initContainers?.find((c) => c.name === 'pillion-proxy');
    assert.equal(proxy?.restartPolicy, 'Always', 'the webhook made the proxy a native sidecar (it read the cluster version)');
    assert.equal(cluster.kubectlOk(['logs', '-n', meshNamespace, pod.metadata.name, '-c', 'app']).trim(), `peer=127.0.0.6 local=${serverIp}:8080`);
  });

  await t.test("an app's init container that needs the network runs after the proxy and reaches the server through it", async () => {
    assert.ok(server !== undefined, 'needs the server of an earlier step');
    const serverIp = server.status.podIP!;
    cluster.kubectlOk(['apply', '-f', '-'], {
      input: list([deployment(meshNamespace, 'init-net', haproxy, ['sleep', 'infinity'], {
        initContainers: [{ name: 'wait-for-server', image: appImage, imagePullPolicy: 'Never', command: ['python3', '-c', clientScript, serverIp, '8080'] }],
      })]),
    });
    const pod = await readyPod(cluster, meshNamespace, 'init-net');
    // CNI mode: no init container before the proxy; its hold hook checked capture.
    assert.deepEqual((pod.spec.initContainers ?? []).map((c) => c.name), [...(mode === 'init' ? ['pillion-init'] : []), 'pillion-proxy', 'wait-for-server']);
    assert.equal(cluster.kubectlOk(['logs', '-n', meshNamespace, pod.metadata.name, '-c', 'wait-for-server']).trim(), `peer=127.0.0.6 local=${serverIp}:8080`);
  });

  await t.test('while the webhook restarts, opted-in pods are injected or refused, never admitted bare, and kube-system is never blocked', () => {
    const bare = (namespace: string, name: string): string => JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, annotations: haproxy, labels: { 'pillion-e2e': 'restart' } },
      spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: appImage, imagePullPolicy: 'Never', command: ['true'] }] },
    });
    cluster.kubectlOk(['rollout', 'restart', 'deployment/pillion-injector', '-n', 'pillion-system']);
    const outcomes = { injected: 0, refused: 0, system: 0 };
    const rollout = cluster.kubectl(['rollout', 'status', 'deployment/pillion-injector', '-n', 'pillion-system', '--timeout=1s']);
    for (let i = 0; i < 200 && (i < 10 || rollout.status !== 0 || outcomes.injected === 0); i++) {
      const created = cluster.kubectl(['create', '-f', '-', '-o', 'json'], { input: bare(meshNamespace, `during-restart-${mode}-${i}`) });
      if (created.status === 0) {
        const pod = JSON.parse(created.stdout) as PodJson;
        assert.ok(containerNames(pod).includes('pillion-proxy'), `during-restart-${i} was admitted without the proxy`);
        outcomes.injected++;
      } else {
        assert.match(created.stderr, /webhook/, `during-restart-${i} refused for another reason`);
        outcomes.refused++;
      }
      const system = cluster.kubectl(['create', '-f', '-'], { input: bare('kube-system', `during-restart-${mode}-${i}`) });
      assert.equal(system.status, 0, `kube-system blocked while the webhook restarted: ${system.stderr}`);
      outcomes.system++;
      Object.assign(rollout, cluster.kubectl(['rollout', 'status', 'deployment/pillion-injector', '-n', 'pillion-system', '--timeout=1s']));
    }
    assert.equal(rollout.status, 0, 'the restart finished');
    assert.ok(outcomes.injected > 0, JSON.stringify(outcomes));
    console.error(`# webhook restart: ${JSON.stringify(outcomes)}`);
    for (const namespace of [meshNamespace, 'kube-system']) cluster.kubectl(['delete', 'pods', '-l', 'pillion-e2e=restart', '-n', namespace, '--wait=false']);
  });
}
