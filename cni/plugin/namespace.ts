// CNI_NETNS must name a pod's network namespace. ADD and CHECK need it to exist; DEL tolerates its
// absence. It must never be the node's own: the runtime runs plugins in the node's namespace, so a
// path naming the plugin's own namespace (or PID 1's) would put a pod's capture rules on the node,
// or have DEL remove the node's PILLION_* chains. (libcni's skel likewise refuses its own.)
import { statSync } from 'node:fs';
import { CniError, specCodes } from '../protocol/errors.js';

interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

/** dev and ino of the file `path` names, or the error code of the stat that failed. */
function identityOf(path: string): FileIdentity | string {
  try {
    const { dev, ino } = statSync(path);
    return { dev, ino };
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'error';
  }
}

export type NetnsVerdict =
  | { readonly usable: true }
  | { readonly usable: false; readonly gone: boolean; readonly reason: string };

/** What `path` names: a pod's namespace (usable), nothing (gone), or something never to enter. */
export function inspectNetns(path: string): NetnsVerdict {
  const target = identityOf(path);
  if (target === 'ENOENT' || target === 'ENOTDIR') return { usable: false, gone: true, reason: `network namespace ${path} does not exist` };
  if (typeof target === 'string') return { usable: false, gone: false, reason: `CNI_NETNS ${path} cannot be examined (${target})` };
  // Every namespace file lives on the kernel's one nsfs device, bind-mounted or not.
  const own = identityOf('/proc/self/ns/net');
  if (typeof own !== 'string') {
    if (target.dev !== own.dev) return { usable: false, gone: false, reason: `CNI_NETNS ${path} is not a network namespace` };
    if (target.ino === own.ino) return { usable: false, gone: false, reason: `CNI_NETNS ${path} is the plugin's own network namespace (the node's), not a pod's` };
  }
  // PID 1's, when it differs from the plugin's (a runtime in a namespace of its own): the host's.
  const init = identityOf('/proc/1/ns/net');
  if (typeof init !== 'string' && init.dev === target.dev && init.ino === target.ino) {
    return { usable: false, gone: false, reason: `CNI_NETNS ${path} is PID 1's network namespace (the host's), not a pod's` };
  }
  return { usable: true };
}

/** ADD and CHECK: a missing namespace is "container unknown" (3), a wrong one an invalid CNI_NETNS (4). */
export function requireNetns(path: string): void {
  const verdict = inspectNetns(path);
  if (!verdict.usable) throw new CniError(verdict.gone ? specCodes.containerUnknown : specCodes.invalidEnvironment, verdict.reason);
}
