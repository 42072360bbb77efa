// Injected pods on a real node: the harness's node (e2e/support/node.ts: kubelet, containerd and
// the control plane inside a network namespace of its own), images built from the project's
// Dockerfiles (scripts/build-images.sh), then the injected-pods suite. Root and the test peers are
// needed; on a laptop it skips with the reason, under CI=true it runs or fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requirePrivileges, skipOrFail } from '../../test/support/privileges.js';
import { pollUntil, snapshotHost, startNode } from '../support/node.js';
import { findNodePeers, sandboxImage } from '../support/node-peers.js';
import { appImage, meshSuiteNamespaces, runMeshSuite } from './mesh-suite.js';

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

  await runMeshSuite(t, realNode.cp, { dualStack: true });

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

  await t.test('deleting the pods leaves nothing of them on the node', async () => {
    realNode.cp.kubectlOk(['delete', 'namespace', ...meshSuiteNamespaces, '--wait=false']);
    realNode.cp.kubectlOk(['delete', 'deployment', '--all', '-n', 'kube-system', '--wait=false']);
    realNode.cp.kubectlOk(['delete', 'pods', '--all', '-n', 'kube-system', '--wait=false']);
    // What is left is the injector's one pod: one sandbox, one network namespace, one address of
    // each family.
    const one = { sandboxes: 1, networkNamespaces: 1, leases: 2 };
    let last = realNode.podFootprint();
    await pollUntil('the node to let go of the deleted pods', 180_000, () => {
      last = realNode.podFootprint();
      const gone = realNode.cp.kubectl(['get', 'namespace', ...meshSuiteNamespaces]).stdout.trim() === '';
      return gone && JSON.stringify(last) === JSON.stringify(one) ? true : undefined;
    }, () => `${JSON.stringify(last)}\n${realNode.cp.kubectl(['get', 'namespaces,pods', '-A', '-o', 'wide']).stdout}\n${realNode.crictl(['pods']).stdout}`);
  });

  await t.test("stopping the node leaves the host's network, rules, sysctls, cgroups and mounts as they were", async () => {
    await realNode.stop();
    stopped = true;
    assert.deepEqual(snapshotHost(), before);
  });
});
