// What the agent remembers on the node, in its own directory (mode 0600): which file holds its
// entry, the hash of the bytes it wrote there (how it recognises its own writes), and the bytes
// that were there before (under their own name when a .conf was converted), so that uninstall
// restores them byte for byte. Kept on the host so an agent that restarts, or an uninstall with
// --host-root after the agent is gone, still knows.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readIfExists, removeDurably, writeAtomic } from './files.js';

export interface OriginalFile {
  readonly name: string;
  readonly bytes: string; // base64
  readonly mode: number;
  readonly uid?: number;
  readonly gid?: number;
}

export interface InstallState {
  readonly version: 1;
  /** The file (in the net dir) that holds the entry. */
  readonly file: string;
  readonly writtenHash: string;
  /** Before the entry went in. `original.name !== file` when a .conf/.json was converted. */
  readonly original: OriginalFile;
}

export const ownDirName = 'pillion-cni';

export function statePath(ownDir: string): string {
  return join(ownDir, 'state.json');
}

export function loadState(ownDir: string): InstallState | undefined {
  const bytes = readIfExists(statePath(ownDir));
  if (bytes === undefined) return undefined;
  try {
    const state = JSON.parse(bytes.toString('utf8')) as InstallState;
    if (state.version !== 1 || typeof state.file !== 'string' || typeof state.original?.bytes !== 'string') return undefined;
    return state;
  } catch {
    return undefined;
  }
}

export function saveState(ownDir: string, state: InstallState): void {
  mkdirSync(ownDir, { recursive: true, mode: 0o700 });
  writeAtomic(statePath(ownDir), Buffer.from(`${JSON.stringify(state, null, 2)}\n`), { mode: 0o600 });
}

/** Forgets the entry (it is no longer anywhere): nothing for uninstall or a later pass to restore. */
export function clearState(ownDir: string): void {
  removeDurably(statePath(ownDir));
}
