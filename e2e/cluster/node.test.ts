// Injected pods on a real node: the harness's node (e2e/support/node.ts: kubelet, containerd and
// the control plane inside a network namespace of its own), images built from the project's
// Dockerfiles (scripts/build-images.sh), then the injected-pods suite. Root and the test peers are
// needed; on a laptop it skips with the reason, under CI=true it runs or fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrivileges, skipOrFail } from '../../test/support/privileges.js';
import { pollUntil, snapshotHost, startNode } from '../support/node.js';
import { findNodePeers, sandboxImage } from '../support/node-peers.js';
import { meshSuiteNamespaces, runMeshSuite } from './mesh-suite.js';

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

  await runMeshSuite(t, realNode.cp);

  await t.test('deleting the pods leaves nothing of them on the node', async () => {
    realNode.cp.kubectlOk(['delete', 'namespace', ...meshSuiteNamespaces, '--wait=false']);
    realNode.cp.kubectlOk(['delete', 'deployment', '--all', '-n', 'kube-system', '--wait=false']);
    realNode.cp.kubectlOk(['delete', 'pods', '--all', '-n', 'kube-system', '--wait=false']);
    // What is left is the injector's one pod: one sandbox, one network namespace, one address.
    const one = { sandboxes: 1, networkNamespaces: 1, leases: 1 };
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
