// The repair of pods that started before the plugin was in place, against the real
// kube-apiserver test peer (pods are stored, never run: their statuses are written as a kubelet
// would write them). The agent runs as pillion-cni-install does in the DaemonSet, with the
// identity of its ServiceAccount (a token bound to an agent pod on its node, as the kubelet
// mounts it) and exactly the RBAC and the own-node ValidatingAdmissionPolicy of deploy/cni, on a
// stand-in host:
//   - while the plugin is not in place, a CNI-mode pod whose pillion-validation exited 126 is
//     left alone; once the entry is in, it is deleted (uid precondition), with a Warning Event;
//   - a pod without a controller is only reported; pods on other nodes, pods whose validation
//     passed, and init-mode pods are left alone; nothing is done twice;
//   - on SIGTERM after its DaemonSet was deleted, the agent uninstalls;
//   - the API server refuses the agent's deletes and labels of pods on other nodes.
// Also the API semantics the agent relies on: a uid in DeleteOptions' preconditions (409) and in a
// merge patch (422, the uid is immutable) makes another pod of the same name refuse, and the watch
// by field selector sees only that node's pods.
// Needs no root; skips with a reason (fails under CI=true) when kube-apiserver/etcd or kubectl
// are not built.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { daemonSetFate } from '../../cni/install/daemonset.js';
import { KubeApi } from '../../cni/install/kube-api.js';
import { kubePodRepairApi, type WatchEvent } from '../../cni/install/repair.js';
import { calicoConflist, makeHost, pluginTypes, waitFor, type TestHost } from '../../test/cni/install/support.js';
import { parseManifests, renderKustomize, requireKubectl, type K8sObject } from '../../test/deploy/support/manifests.js';
import { repoPath } from '../../test/support/paths.js';
import { freePort } from '../../test/support/ports.js';
import { requireControlPlaneBinaries, startControlPlane, type ControlPlane } from '../support/control-plane.js';

const agentAccount = { namespace: 'pillion-system', name: 'pillion-cni-node' };
const node = 'node-a';
const cniStatus = JSON.stringify({ version: '0.1.0', templates: ['envoy'], capture: { mode: 'cni', args: ['--proxy-uid=1337', '--proxy-gid=1337'] } });

interface Env {
  readonly cp: ControlPlane;
  /** The agent's service account folder (token, ca.crt) on node-a. */
  readonly saDir: string;
  /** The same for an agent on another node. */
  agentOn(nodeName: string): string;
}

let envPromise: Promise<Env> | undefined;
const saDirs: string[] = [];

/**
 * The folder the kubelet would mount into the agent's pod on `nodeName`: a token of the agent's
 * ServiceAccount bound to that pod, which makes the API server add the node's name to the agent's
 * identity (what the own-node policy reads).
 */
function agentServiceAccountDir(cp: ControlPlane, nodeName: string): string {
  const pod = `${agentAccount.name}-${nodeName}`;
  if (cp.kubectl(['get', 'node', nodeName]).status !== 0) cp.kubectlOk(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName } }) });
  cp.kubectlOk(['create', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod, namespace: agentAccount.namespace },
      spec: { nodeName, serviceAccountName: agentAccount.name, containers: [{ name: 'agent', image: 'ghcr.io/pillion/pillion-cni:0.1.0' }] },
    }),
  });
  return serviceAccountDir(cp, cp.kubectlOk(['create', 'token', agentAccount.name, '-n', agentAccount.namespace, '--bound-object-kind', 'Pod', '--bound-object-name', pod]).trim());
}

/** A service account folder (token, ca.crt) holding `token`, removed after the tests. */
function serviceAccountDir(cp: ControlPlane, token: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-repair-sa-'));
  saDirs.push(dir);
  writeFileSync(join(dir, 'token'), token);
  writeFileSync(join(dir, 'ca.crt'), readFileSync(cp.caFile));
  return dir;
}

/** deploy/cni's objects for the agent: ServiceAccount, RBAC, DaemonSet, the own-node policy. */
function agentObjects(kubectl: string): K8sObject[] {
  return parseManifests(renderKustomize(kubectl, 'cni'), 'deploy/cni').filter((o) => o.metadata.name.startsWith(agentAccount.name));
}

async function setUp(t: TestContext): Promise<Env | undefined> {
  const bin = requireControlPlaneBinaries(t);
  const kubectl = requireKubectl(t);
  if (bin === undefined || kubectl === undefined) return undefined;
  envPromise ??= (async () => {
    const cp = await startControlPlane(bin, kubectl);
    for (const ns of ['pillion-system', 'shop']) {
      cp.kubectlOk(['create', 'namespace', ns]);
      // No controller-manager creates default service accounts; the ServiceAccount admission plugin needs one.
      cp.kubectlOk(['create', 'serviceaccount', 'default', '-n', ns]);
    }
    // deploy/cni's own RBAC, policy and DaemonSet (nothing runs it: it is there for the SIGTERM check).
    const objects = agentObjects(kubectl);
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'DaemonSet', 'Role', 'RoleBinding', 'ServiceAccount', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
    cp.kubectlOk(['create', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n') });
    return { cp, saDir: agentServiceAccountDir(cp, node), agentOn: (nodeName: string) => agentServiceAccountDir(cp, nodeName) };
  })();
  return envPromise;
}

after(async () => {
  const env = await envPromise?.catch(() => undefined);
  for (const dir of saDirs) rmSync(dir, { recursive: true, force: true });
  if (env === undefined) return;
  await env.cp.stop();
});

function createPod(cp: ControlPlane, name: string, options: { nodeName?: string; owner?: boolean; status?: string } = {}): string {
  const manifest = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      annotations: { 'pillion.dev/status': options.status ?? cniStatus },
      ...(options.owner === false ? {} : {
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: '0d9a4c1e-0000-4000-8000-000000000001', controller: true }],
      }),
    },
    spec: {
      nodeName: options.nodeName ?? node,
      initContainers: [{ name: 'pillion-validation', image: 'ghcr.io/pillion/pillion-init:0.1.0', args: ['validate'] }],
      containers: [{ name: 'app', image: 'registry.example/app:1' }],
    },
  };
  cp.kubectlOk(['create', '-f', '-'], { input: JSON.stringify(manifest) });
  return cp.kubectlOk(['get', 'pod', '-n', 'shop', name, '-o', 'jsonpath={.metadata.uid}']);
}

/** Writes the status a kubelet would: pillion-validation terminated with `exitCode`. */
function validationExited(cp: ControlPlane, name: string, exitCode: number): void {
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const status = {
    status: {
      phase: 'Pending',
      initContainerStatuses: [{
        name: 'pillion-validation', image: 'ghcr.io/pillion/pillion-init:0.1.0', imageID: '', ready: false, restartCount: 0,
        state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: at, finishedAt: at, message: exitCode === 0 ? '' : 'IPv4: outbound connections are not redirected to 15001' } },
      }],
    },
  };
  cp.kubectlOk(['patch', 'pod', '-n', 'shop', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
}

function podField(cp: ControlPlane, name: string, path: string): string {
  return cp.kubectlOk(['get', 'pod', '-n', 'shop', name, '-o', `jsonpath={${path}}`]);
}

interface EventItem { reason: string; type: string; message: string; involvedObject: { name: string; uid: string }; source: { component: string; host: string } }

function events(cp: ControlPlane): EventItem[] {
  return (JSON.parse(cp.kubectlOk(['get', 'events', '-n', 'shop', '-o', 'json'])) as { items: EventItem[] }).items.filter((e) => e.reason === 'PillionCaptureMissing');
}

function startAgent(env: Env, host: TestHost, readyFile: string): { child: ChildProcess; log: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [repoPath('dist', 'cni', 'install', 'main.js'), '--host-root', host.root, '--exec', 'direct', '--source', host.source,
    '--service-account-dir', env.saDir, '--api-server', env.cp.server, '--http-port', 'off', '--ready-file', readyFile, '--poll-ms', '100',
    '--daemonset', 'pillion-system/pillion-cni-node', '--node-name', node], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, log: () => log, exited };
}

describe('repair of early pods against the real kube-apiserver', () => {
  let host: TestHost | undefined;
  before(() => {
    host = makeHost();
  });
  after(() => host?.cleanup());

  test('with the RBAC of deploy/cni: waits for the plugin, deletes the early pod once with an Event, reports a bare pod, leaves the rest; uninstalls when its DaemonSet is gone', { timeout: 120_000 }, async (t) => {
    const env = await setUp(t);
    if (env === undefined || host === undefined) return;
    const { cp } = env;
    const readyFile = join(host.root, 'ready.json');
    const agent = startAgent(env, host, readyFile);
    try {
      // The agent runs, but no primary configuration yet: the plugin is not in place.
      await waitFor('the agent to list its node\'s pods', () => /repair of early pods: delete on node node-a/.test(agent.log()), 20_000);
      const early = createPod(cp, 'web-early');
      createPod(cp, 'bare', { owner: false });
      createPod(cp, 'elsewhere', { nodeName: 'node-b' });
      createPod(cp, 'fine');
      createPod(cp, 'init-mode', { status: JSON.stringify({ version: '0.1.0', capture: { mode: 'init' } }) });
      for (const name of ['web-early', 'bare', 'elsewhere', 'init-mode']) validationExited(cp, name, 126);
      validationExited(cp, 'fine', 0);
      await waitFor('the agent to see the early pod', () => /pod shop\/web-early: pillion-validation exited 126 .*repair waits until the plugin is in place/.test(agent.log()), 10_000);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(podField(cp, 'web-early', '.metadata.deletionTimestamp'), '', 'not deleted while the plugin is not in place');
      assert.deepEqual(events(cp), []);

      // The primary writes its configuration: the agent puts the entry in, then repairs.
      writeFileSync(join(host.netDir, '10-calico.conflist'), calicoConflist);
      await waitFor('the early pod to be deleted', () => podField(cp, 'web-early', '.metadata.deletionTimestamp') !== '', 20_000).catch((error: Error) => {
        throw new Error(`${error.message}\n${agent.log()}`);
      });
      assert.deepEqual(pluginTypes(join(host.netDir, '10-calico.conflist')).at(-1), 'pillion-cni');
      await waitFor('two Events', () => events(cp).length === 2, 10_000);
      const byPod = new Map(events(cp).map((e) => [e.involvedObject.name, e]));
      const deleted = byPod.get('web-early');
      assert.equal(deleted?.type, 'Warning');
      assert.equal(deleted?.involvedObject.uid, early);
      assert.deepEqual(deleted?.source, { component: 'pillion-cni-node', host: node });
      assert.match(deleted?.message ?? '', /pillion-validation exited 126 \(traffic capture missing: IPv4: outbound connections are not redirected to 15001\): the pod's network was set up before the Pillion CNI plugin was in place on node node-a; deleted so that ReplicaSet web-5d8f recreates it/);
      assert.match(byPod.get('bare')?.message ?? '', /not deleted: no controller owns it/);
      for (const name of ['bare', 'elsewhere', 'fine', 'init-mode']) assert.equal(podField(cp, name, '.metadata.deletionTimestamp'), '', `${name} is not deleted`);

      // Once per uid: more status writes change nothing.
      validationExited(cp, 'bare', 126);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(events(cp).length, 2);
      assert.equal(agent.log().match(/pod shop\/web-early: .*deleted so that ReplicaSet web-5d8f/g)?.length, 1, 'one deletion logged');

      // The DaemonSet is deleted (no garbage collector here: the agent is told by SIGTERM).
      cp.kubectlOk(['delete', 'daemonset', '-n', 'pillion-system', 'pillion-cni-node']);
      agent.child.kill('SIGTERM');
      assert.equal(await agent.exited, 0, agent.log());
      assert.match(agent.log(), /SIGTERM: DaemonSet pillion-system\/pillion-cni-node is deleted/);
      assert.deepEqual(pluginTypes(join(host.netDir, '10-calico.conflist')), ['calico', 'portmap', 'bandwidth']);
    } finally {
      if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    }
  });

  test('the API semantics the agent relies on: uid preconditions on delete and merge patch, the watch of one node\'s pods', { timeout: 60_000 }, async (t) => {
    const env = await setUp(t);
    if (env === undefined) return;
    const { cp } = env;
    // Label mode's verb too, for this test only (deploy/cni's RBAC is for delete mode).
    cp.kubectlOk(['create', 'clusterrole', 'pillion-repair-label-test', '--verb=patch', '--resource=pods']);
    cp.kubectlOk(['create', 'clusterrolebinding', 'pillion-repair-label-test', '--clusterrole=pillion-repair-label-test', `--serviceaccount=${agentAccount.namespace}:${agentAccount.name}`]);
    // The agent of node-c: the own-node policy lets it change node-c's pods.
    const api = kubePodRepairApi(new KubeApi({ server: cp.server, serviceAccountDir: env.agentOn('node-c') }), 5);
    const uid = createPod(cp, 'same-name', { nodeName: 'node-c' });
    const seen: WatchEvent[] = [];
    const listed = await api.listPods('node-c');
    // The agent's own pod (pillion-system) is on node-c too.
    assert.deepEqual(listed.items.filter((p) => p.metadata.namespace === 'shop').map((p) => p.metadata.name), ['same-name']);
    const abort = new AbortController();
    const watching = api.watchPods('node-c', listed.resourceVersion, (event) => seen.push(event), abort.signal).catch(() => undefined);
    assert.equal(await api.labelPod('shop', 'same-name', 'not-its-uid'), 'gone', 'another uid: refused, nothing changed');
    assert.equal(podField(cp, 'same-name', '.metadata.labels'), '');
    assert.equal(await api.labelPod('shop', 'same-name', uid), 'labelled');
    assert.equal(podField(cp, 'same-name', '.metadata.labels.pillion\\.dev/capture-failed'), 'true');
    assert.equal(await api.deletePod('shop', 'same-name', 'not-its-uid'), 'gone');
    assert.equal(podField(cp, 'same-name', '.metadata.deletionTimestamp'), '');
    assert.equal(await api.deletePod('shop', 'same-name', uid), 'deleted');
    assert.notEqual(podField(cp, 'same-name', '.metadata.deletionTimestamp'), '');
    assert.equal(await api.deletePod('shop', 'no-such-pod', uid), 'gone', '404');
    await waitFor('the watch to see the label and the deletion', () => seen.some((e) => e.type === 'MODIFIED' && e.object.metadata.deletionTimestamp !== undefined), 10_000);
    assert.ok(seen.every((e) => e.type === 'ERROR' || e.type === 'BOOKMARK' || e.object.spec?.nodeName === 'node-c'), 'only node-c\'s pods');
    abort.abort();
    await watching;
  });

  test('the SIGTERM check: present with its RBAC; deleted when the DaemonSet is gone, or when the agent\'s identity is refused (401) or no longer allowed to look (403); unknown without an answer', { timeout: 60_000 }, async (t) => {
    const env = await setUp(t);
    if (env === undefined) return;
    const { cp, saDir } = env;
    const kubectl = requireKubectl(t);
    if (kubectl === undefined) return;
    const objects = agentObjects(kubectl).filter((o) => o.metadata.name === agentAccount.name);
    const ensure = (kind: string): void => {
      if (cp.kubectl(['get', kind.toLowerCase(), '-n', 'pillion-system', 'pillion-cni-node']).status === 0) return;
      cp.kubectlOk(['create', '-f', '-'], { input: JSON.stringify(objects.find((o) => o.kind === kind)) });
    };
    ensure('DaemonSet'); // an earlier test deletes it
    const fate = (dir: string, server = cp.server): Promise<string> => daemonSetFate(server, dir, 'pillion-system', 'pillion-cni-node');
    assert.equal(await fate(saDir), 'present');

    assert.equal(await fate(serviceAccountDir(cp, 'a-token-the-api-server-does-not-know')), 'deleted', '401: the ServiceAccount went with the release');

    cp.kubectlOk(['delete', 'rolebinding', '-n', 'pillion-system', 'pillion-cni-node']);
    try {
      assert.equal(await fate(saDir), 'deleted', '403: the RBAC went with the release');
    } finally {
      ensure('RoleBinding');
    }
    assert.equal(await fate(saDir), 'present');
    assert.equal(await fate(saDir, `https://127.0.0.1:${await freePort()}`), 'unknown', 'no API server: keep the node as it is');
  });

  test('deploy/cni\'s own-node policy: the agent of node-a cannot delete or label a pod of node-b, nor can its ServiceAccount without a node; node-b\'s agent can', { timeout: 60_000 }, async (t) => {
    const env = await setUp(t);
    if (env === undefined) return;
    const { cp } = env;
    // Label mode's verb too (deploy/cni's RBAC is for delete mode): the policy covers both.
    if (cp.kubectl(['get', 'clusterrolebinding', 'pillion-repair-label-own-node']).status !== 0) {
      cp.kubectlOk(['create', 'clusterrole', 'pillion-repair-label-own-node', '--verb=patch', '--resource=pods']);
      cp.kubectlOk(['create', 'clusterrolebinding', 'pillion-repair-label-own-node', '--clusterrole=pillion-repair-label-own-node', `--serviceaccount=${agentAccount.namespace}:${agentAccount.name}`]);
    }
    const uid = createPod(cp, 'on-node-b', { nodeName: 'node-b' });
    const nodeA = kubePodRepairApi(new KubeApi({ server: cp.server, serviceAccountDir: env.saDir }), 5);
    const refused = (what: RegExp) => (error: Error): boolean => {
      assert.match(error.message, what);
      assert.match(error.message, /403 .*may change only pods on its own node/);
      return true;
    };
    await assert.rejects(nodeA.deletePod('shop', 'on-node-b', uid), refused(/^delete pod shop\/on-node-b: /));
    await assert.rejects(nodeA.labelPod('shop', 'on-node-b', uid), refused(/^label pod shop\/on-node-b: /));
    // A token of the ServiceAccount bound to no pod carries no node name: refused too.
    const unbound = serviceAccountDir(cp, cp.kubectlOk(['create', 'token', agentAccount.name, '-n', agentAccount.namespace]).trim());
    await assert.rejects(kubePodRepairApi(new KubeApi({ server: cp.server, serviceAccountDir: unbound }), 5).deletePod('shop', 'on-node-b', uid), refused(/^delete pod /));
    assert.equal(podField(cp, 'on-node-b', '.metadata.deletionTimestamp'), '', 'still there');
    assert.equal(podField(cp, 'on-node-b', '.metadata.labels'), '', 'not labelled');
    // Its own node's agent may.
    const nodeB = kubePodRepairApi(new KubeApi({ server: cp.server, serviceAccountDir: env.agentOn('node-b') }), 5);
    assert.equal(await nodeB.labelPod('shop', 'on-node-b', uid), 'labelled');
    assert.equal(await nodeB.deletePod('shop', 'on-node-b', uid), 'deleted');
    // Anyone else (the admin here) is not the policy's concern.
    const other = createPod(cp, 'admin-deletes', { nodeName: 'node-b' });
    assert.notEqual(other, '');
    cp.kubectlOk(['delete', 'pod', '-n', 'shop', 'admin-deletes', '--wait=false']);
  });
});
