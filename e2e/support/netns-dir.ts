// The first `ip netns add` on a host prepares /run/netns: it creates the folder and bind-mounts it
// onto itself (so that namespaces mounted there propagate), and no `ip netns delete` undoes that.
// Tests leave the host as they found it, so whoever found the folder absent, or not a mount point,
// puts it back once no named namespace is left in it (one still there belongs to someone: leave it).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';

const netnsDir = '/run/netns';

export interface NetnsDirState {
  readonly exists: boolean;
  readonly mounted: boolean;
}

export function netnsDirState(): NetnsDirState {
  // mountinfo's fifth field is the mount point.
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === netnsDir);
  return { exists: existsSync(netnsDir), mounted };
}

/** Undoes what `ip netns` did to /run/netns since `before` was taken, if no namespace is left in it. */
export function restoreNetnsDir(before: NetnsDirState): void {
  if (!existsSync(netnsDir) || readdirSync(netnsDir).length > 0) return;
  if (!before.mounted && netnsDirState().mounted) spawnSync('umount', [netnsDir], { stdio: 'ignore' });
  if (!before.exists && !netnsDirState().mounted) {
    try {
      rmdirSync(netnsDir);
    } catch {
      // something else made use of it meanwhile: leave it
    }
  }
}
