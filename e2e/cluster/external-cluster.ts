// The injected-pods suite against the cluster KUBECONFIG names: what `npm run e2e:kind`
// (scripts/e2e-kind.sh) runs on a kind cluster. Not part of `npm test` (its name does not match
// the runner's test-file patterns): that one builds its own node (node.test.ts). The cluster must
// have the images loaded (see the script) and nothing of Pillion's deployed yet.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import type { KubectlResult } from '../support/control-plane.js';
import { rmSync } from 'node:fs';
import { repoPath } from '../../test/support/paths.js';
import { runMeshSuite, writeCniOverlay } from './mesh-suite.js';
import type { Cluster } from './mesh-suite.js';

function kubectlCluster(kubeconfig: string): Cluster {
  const kubectl = (args: readonly string[], options: { input?: string } = {}): KubectlResult => {
    const result = spawnSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', input: options.input ?? '', timeout: 300_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  return {
    kubectl,
    kubectlOk(args, options) {
      const result = kubectl(args, options);
      if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
      return result.stdout;
    },
  };
}

test('injected pods on the cluster KUBECONFIG names', { timeout: 1_200_000 }, async (t) => {
  const kubeconfig = process.env.KUBECONFIG ?? '';
  if (kubeconfig === '') throw new Error('set KUBECONFIG to the cluster to test (scripts/e2e-kind.sh does)');
    // PILLION_E2E_DUAL_STACK=1 (scripts/e2e-kind.sh makes a dual-stack cluster): the dual-stack
  // checks must run; otherwise they run only if the cluster turns out dual-stack.
  const dualStack = process.env.PILLION_E2E_DUAL_STACK === '1';
  const cluster = kubectlCluster(kubeconfig);
  await t.test('init mode', (tt) => runMeshSuite(tt, cluster, { dualStack, captureMode: 'init', deploy: repoPath('deploy', 'self-signed') }));
  // kind's nodes keep their CNI folders where the default preset says.
  const cniOverlay = writeCniOverlay();
  t.after(() => rmSync(cniOverlay, { recursive: true, force: true }));
  await t.test('CNI mode', (tt) => runMeshSuite(tt, cluster, { dualStack, captureMode: 'cni', deploy: cniOverlay }));
});
