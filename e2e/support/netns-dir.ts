// The first `ip netns add` on a host prepares /run/netns: it creates the folder and bind-mounts it
// onto itself (so that namespaces mounted there propagate), and no `ip netns delete` undoes that.
// Tests leave the host as they found it, so whoever found the folder absent, or not a mount point,
// puts it back once no named namespace is left in it (one still there belongs to someone: leave it).
// Not locked against another process's `ip netns add` at that very moment (a benchmark run beside
// the suite): that one could then fail to make its namespace, and would say so.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { readMounts } from './mounts.js';

const netnsDir = '/run/netns';

export interface NetnsDirState {
  readonly exists: boolean;
  readonly mounted: boolean;
}

export function netnsDirState(): NetnsDirState {
  return { exists: existsSync(netnsDir), mounted: readMounts().some((m) => m.point === netnsDir) };
}

/** Undoes what `ip netns` did to /run/netns since `before` was taken, if no namespace is left in it. */
export function restoreNetnsDir(before: NetnsDirState): void {
  if (!existsSync(netnsDir) || readdirSync(netnsDir).length > 0) return;
  // Two first `ip netns add` racing each other can stack two bind mounts: undo each (bounded).
  for (let i = 0; i < 5 && !before.mounted && netnsDirState().mounted; i++) spawnSync('umount', [netnsDir], { stdio: 'ignore' });
  if (!before.exists && !netnsDirState().mounted) {
    try {
      rmdirSync(netnsDir);
    } catch {
      // something else made use of it meanwhile: leave it
    }
  }
}
