// What a real node needs from outside the repository, found by the peer scripts' --check (never
// built here: scripts/setup.sh --test-peers builds them): the Kubernetes binaries, kubectl, and the
// image archives built from the project's Dockerfiles.
import { spawnSync } from 'node:child_process';
import { builtPeer } from '../../test/support/peers.js';
import type { NodeBinaries } from './node.js';

export interface NodePeers {
  readonly bins: NodeBinaries;
  /** Image name → archive path (scripts/build-images.sh). */
  readonly images: ReadonlyMap<string, string>;
}

/** The image the CRI runs pod sandboxes with (e2e/images/pause). */
export const sandboxImage = 'pillion.test/pause:1';


/** The peers, or the reason they are not all there. */
export function findNodePeers(): NodePeers | string {
  const missing: string[] = [];
  const controlPlane = builtPeer('get-kube-apiserver.sh') ?? void missing.push('kube-apiserver and etcd (scripts/get-kube-apiserver.sh)');
  const node = builtPeer('get-kube-node.sh') ?? void missing.push('kubelet and the node programs (scripts/get-kube-node.sh)');
  const images = builtPeer('build-images.sh') ?? void missing.push('the images (scripts/build-images.sh)');
  const kubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim() || void missing.push('kubectl on PATH');
  for (const tool of ['containerd', 'runc', 'ctr', 'nsenter']) {
    if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status !== 0) missing.push(`${tool} on PATH (scripts/setup.sh --test-peers)`);
  }
  if (missing.length > 0 || controlPlane === undefined || node === undefined || images === undefined || kubectl === undefined) {
    return `needs ${missing.join(', ')}`;
  }
  const archives = new Map(images.split('\n').map((line) => line.split('\t') as [string, string]));
  if (!archives.has(sandboxImage)) return `needs the sandbox image ${sandboxImage} among the images (scripts/build-images.sh)`;
  return { bins: { controlPlane, node, kubectl }, images: archives };
}
