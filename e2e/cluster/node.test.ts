// Injected pods on a real node: the harness's node (e2e/support/node.ts: kubelet, containerd and
// the control plane inside a network namespace of its own), images built from the project's
// Dockerfiles (scripts/build-images.sh), then the injected-pods suite twice: in init mode
// (deploy/self-signed), then in CNI mode (deploy/self-signed + deploy/cni/component and own-node-policy, the node agent
// installing pillion-cni into the node's own CNI folders), with the race in between: a pod made
// before the plugin was there fails its proxy's capture check and the agent repairs it. Root and the test peers
// are needed; on a laptop it skips with the reason, under CI=true it runs or fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requirePrivileges, skipOrFail } from '../../test/support/privileges.js';
import { pollUntil, snapshotHost, startNode } from '../support/node.js';
import { findNodePeers, sandboxImage } from '../support/node-peers.js';
import { appImage, deployPillion, meshSuiteNamespaces, runMeshSuite, writeCniOverlay } from './mesh-suite.js';
import { captureMissingMessage } from '../../cni/install/repair.js';
import { repoPath } from '../../test/support/paths.js';

/** Every file under `dir` (recursively) with its mode and content hash: "byte-identical" made checkable. */
function folderDigest(dir: string, prefix = ''): Record<string, string> {
  const digest: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) continue;
    if (stat.isDirectory()) Object.assign(digest, folderDigest(path, `${prefix}${name}/`));
    else digest[`${prefix}${name}`] = `${(stat.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  }
  return digest;
}

test('injected pods on a real node', { timeout: 900_000 }, async (t) => {
  if (!requirePrivileges(t)) return;
  const peers = findNodePeers();
  if (typeof peers === 'string') {
    skipOrFail(t, peers);
    return;
  }
  const before = snapshotHost();
  const realNode = await startNode(peers.bins, { images: [...peers.images.values()], sandboxImage });
  let stopped = false;
  t.after(async () => {
    if (!stopped) await realNode.stop();
  });

  await t.test('init mode', (tt) => runMeshSuite(tt, realNode.cp, { dualStack: true, captureMode: 'init', deploy: repoPath('deploy', 'self-signed') }));

  await t.test('a pod whose capture cannot be applied does not start, and says why', async () => {
    // A Localhost seccomp profile, as a hardened cluster might impose, that denies the sockets
    // netfilter is programmed through (netlink for nft, raw IP for legacy): pillion-init cannot
    // apply the rules, so the app must never run uncaptured.
    mkdirSync(join(realNode.kubeletDir, 'seccomp'), { recursive: true });
    writeFileSync(join(realNode.kubeletDir, 'seccomp', 'no-netfilter.json'), JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 16, op: 'SCMP_CMP_EQ' }] },
        { names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 15, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ' }] },
      ],
    }));
    realNode.cp.kubectlOk(['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: 'no-capture', namespace: 'default', annotations: { 'pillion.dev/inject': 'enabled', 'pillion.dev/templates': 'haproxy' } },
        spec: {
          securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'no-netfilter.json' } },
          containers: [{ name: 'app', image: appImage, imagePullPolicy: 'Never', command: ['sleep', 'infinity'] }],
        },
      }),
    });
    interface Status { state?: { running?: object; waiting?: object }; lastState?: { terminated?: { exitCode: number; message?: string } } }
    const failed = await pollUntil('pillion-init to fail', 90_000, () => {
      const pod = JSON.parse(realNode.cp.kubectlOk(['get', 'pod', 'no-capture', '-o', 'json'])) as { status: { initContainerStatuses?: (Status & { name: string })[] } };
      const init = pod.status.initContainerStatuses?.find((s) => s.name === 'pillion-init');
      return init?.lastState?.terminated !== undefined ? init.lastState.terminated : undefined;
    });
    assert.notEqual(failed.exitCode, 0);
    assert.match(failed.message ?? '', /pillion-init|iptables/i, 'the termination message carries pillion-init\'s own words');
    const pod = JSON.parse(realNode.cp.kubectlOk(['get', 'pod', 'no-capture', '-o', 'json'])) as { status: { phase: string; containerStatuses?: (Status & { name: string })[]; initContainerStatuses?: (Status & { name: string })[] } };
    assert.equal(pod.status.phase, 'Pending');
    const app = pod.status.containerStatuses?.find((s) => s.name === 'app');
    assert.equal(app?.state?.running, undefined, 'the app never ran');
    const proxy = pod.status.initContainerStatuses?.find((s) => s.name === 'pillion-proxy');
    assert.equal(proxy?.state?.running, undefined, 'nothing after pillion-init ran');
    console.error(`# capture failure reported as: ${JSON.stringify(failed.message?.trim().split('\n').slice(-2))}`);
    realNode.cp.kubectlOk(['delete', 'pod', 'no-capture', '--wait=false']);
  });

  // CNI mode. The agents run only on nodes labelled pillion.test/cni=installed, so the race pod
  // can be made first; labelling the node is the DaemonSet rolling out onto it.
  const cniOverlay = writeCniOverlay({
    paths: { netDir: realNode.cniConfDir, binDir: realNode.cniBinDir },
    nodeSelector: { 'pillion.test/cni': 'installed' },
  });
  t.after(() => rmSync(cniOverlay, { recursive: true, force: true }));
  const cniFoldersBefore = { net: folderDigest(realNode.cniConfDir), bin: folderDigest(realNode.cniBinDir) };
  const raceNamespace = 'pillion-e2e-cni-race';

  await t.test('CNI mode: a pod made before the plugin was installed never starts its app (the proxy\'s hold hook finds no capture) and the node agent repairs it, with no manual step', async () => {
    await deployPillion(realNode.cp, { captureMode: 'cni', deploy: cniOverlay });
    realNode.cp.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1', kind: 'List', items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: raceNamespace, labels: { 'pillion.dev/inject': 'enabled' } } },
          {
            apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'early', namespace: raceNamespace },
            spec: {
              replicas: 1, selector: { matchLabels: { app: 'early' } },
              template: {
                metadata: { labels: { app: 'early' }, annotations: { 'pillion.dev/templates': 'haproxy' } },
                spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: appImage, imagePullPolicy: 'Never', command: ['sleep', 'infinity'] }] },
              },
            },
          },
        ],
      }),
    });
    interface RacePod {
      metadata: { name: string; uid: string };
      spec: { initContainers?: { name: string }[] };
      status: {
        conditions?: { type: string; status: string }[];
        initContainerStatuses?: { name: string; restartCount?: number; state?: { terminated?: { exitCode: number; message?: string } }; lastState?: { terminated?: { exitCode: number; message?: string } } }[];
        containerStatuses?: { name: string; state?: { running?: unknown } ; lastState?: { terminated?: unknown } }[];
      };
    }
    const pods = (): RacePod[] => (JSON.parse(realNode.cp.kubectlOk(['get', 'pods', '-n', raceNamespace, '-l', 'app=early', '-o', 'json'])) as { items: RacePod[] }).items;
    const early = await pollUntil("the early pod's proxy to fail its capture check", 120_000, () => {
      for (const pod of pods()) {
        const proxy = pod.status.initContainerStatuses?.find((c) => c.name === 'pillion-proxy');
        const failed = proxy?.state?.terminated ?? proxy?.lastState?.terminated;
        if (failed !== undefined) return { uid: pod.metadata.uid, failed, pod };
      }
      return undefined;
    });
    assert.ok(early.failed.message?.startsWith(`${captureMissingMessage}: IPv4: `), `the termination message names the family whose capture is missing: ${early.failed.message}`);
    assert.equal(early.pod.status.containerStatuses?.find((c) => c.name === 'app')?.state?.running, undefined, 'the app never ran uncaptured');
    assert.equal(early.pod.status.containerStatuses?.find((c) => c.name === 'app')?.lastState?.terminated, undefined, 'the app never ran uncaptured');
    console.error(`# capture check failure reported as: ${JSON.stringify(early.failed.message?.trim())}`);

    realNode.cp.kubectlOk(['label', 'node', realNode.nodeName, 'pillion.test/cni=installed']);
    await deployPillion(realNode.cp, { captureMode: 'cni', deploy: cniOverlay });
    const repaired = await pollUntil('a new, Ready early pod', 180_000, () => pods().find((pod) => pod.metadata.uid !== early.uid &&
      pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')),
    () => `${realNode.cp.kubectl(['get', 'pods,events', '-n', raceNamespace]).stdout}\n${realNode.cp.kubectl(['logs', '-n', 'pillion-system', 'daemonset/pillion-cni-node']).stdout.slice(-3000)}`);
    const events = realNode.cp.kubectlOk(['get', 'events', '-n', raceNamespace, '--field-selector', 'reason=PillionCaptureMissing', '-o', 'jsonpath={.items[*].involvedObject.uid}']);
    assert.ok(events.split(' ').includes(early.uid), `an Event on the deleted pod says why it went: ${events}`);
    // ... deleted with the token the kubelet mounted, under the policy that keeps the agent to its own node's pods.
    assert.equal(realNode.cp.kubectlOk(['get', 'validatingadmissionpolicybinding', 'pillion-cni-node-own-node', '-o', 'jsonpath={.spec.validationActions}']), '["Deny"]');
    // Its check passed at once: the plugin's rules were in place before any container ran.
    assert.deepEqual(repaired.spec.initContainers?.map((c) => c.name), ['pillion-proxy'], 'no validation container: the hook checked');
    assert.equal(repaired.status.initContainerStatuses?.find((c) => c.name === 'pillion-proxy')?.restartCount, 0);
    // The agent put its entry into the node's own conflist and its binary beside Debian's.
    const conflist = JSON.parse(readFileSync(join(realNode.cniConfDir, '10-pillion-e2e.conflist'), 'utf8')) as { name: string; plugins: { type: string }[] };
    assert.deepEqual(conflist.plugins.map((p) => p.type), ['bridge', 'portmap', 'pillion-cni']);
    assert.equal(conflist.name, 'pillion-e2e', 'the network keeps its name (host-local keeps its leases under it)');
  });

  await t.test('CNI mode', (tt) => runMeshSuite(tt, realNode.cp, { dualStack: true, captureMode: 'cni', deploy: cniOverlay }));

  await t.test("deleting the node agent's DaemonSet uninstalls the plugin: the node's CNI folders are byte-identical to before", async () => {
    realNode.cp.kubectlOk(['delete', 'daemonset', 'pillion-cni-node', '-n', 'pillion-system', '--wait=false']);
    let last: unknown;
    await pollUntil('the agent to uninstall and go', 120_000, () => {
      const agents = realNode.cp.kubectlOk(['get', 'pods', '-n', 'pillion-system', '-l', 'app.kubernetes.io/name=pillion-cni-node', '-o', 'name']).trim();
      last = { net: folderDigest(realNode.cniConfDir), bin: folderDigest(realNode.cniBinDir) };
      return agents === '' && JSON.stringify(last) === JSON.stringify(cniFoldersBefore) ? true : undefined;
    }, () => `now ${JSON.stringify(last)}\nbefore ${JSON.stringify(cniFoldersBefore)}`);
  });

  await t.test('deleting the pods leaves nothing of them on the node', async () => {
    const namespaces = [...Object.values(meshSuiteNamespaces('init')), ...Object.values(meshSuiteNamespaces('cni')), raceNamespace];
    realNode.cp.kubectlOk(['delete', 'namespace', ...namespaces, '--wait=false']);
    realNode.cp.kubectlOk(['delete', 'deployment', '--all', '-n', 'kube-system', '--wait=false']);
    realNode.cp.kubectlOk(['delete', 'pods', '--all', '-n', 'kube-system', '--wait=false']);
    // What is left is the injector's one pod: one sandbox, one network namespace, one address of
    // each family.
    const one = { sandboxes: 1, networkNamespaces: 1, leases: 2 };
    let last = realNode.podFootprint();
    await pollUntil('the node to let go of the deleted pods', 180_000, () => {
      last = realNode.podFootprint();
      const gone = realNode.cp.kubectl(['get', 'namespace', ...namespaces]).stdout.trim() === '';
      return gone && JSON.stringify(last) === JSON.stringify(one) ? true : undefined;
    }, () => `${JSON.stringify(last)}\n${realNode.cp.kubectl(['get', 'namespaces,pods', '-A', '-o', 'wide']).stdout}\n${realNode.crictl(['pods']).stdout}`);
  });

  await t.test("stopping the node leaves the host's network, rules, sysctls, cgroups and mounts as they were", async () => {
    await realNode.stop();
    stopped = true;
    assert.deepEqual(snapshotHost(), before);
  });
});
