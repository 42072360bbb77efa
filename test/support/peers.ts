// Test peers built by scripts/get-*.sh and scripts/build-images.sh, found the one way every test
// and benchmark finds them: the script's `--check`, which never builds and prints where they are.
import { spawnSync } from 'node:child_process';
import { repoPath } from './paths.js';

/** What `scripts/SCRIPT --check` prints (trimmed), or undefined when the peer is not built. */
export function builtPeer(script: string): string | undefined {
  const found = spawnSync('bash', [repoPath('scripts', script), '--check'], { encoding: 'utf8' });
  const printed = (found.stdout ?? '').trim();
  return found.status === 0 && printed !== '' ? printed : undefined;
}
