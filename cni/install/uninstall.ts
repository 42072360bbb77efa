// Uninstall: the entry first (so no new pod is sent to a plugin that is about to go), a
// converted .conf back byte for byte, then the binary and the agent's own directory
// (kubeconfig, state). Works from the state on the host alone, so `--uninstall --host-root DIR`
// cleans a node whose agent is gone.
import { join } from 'node:path';
import { restore, listConfigs, removeEntryFrom, removeOwnDir } from './entry.js';
import { removeDurably } from './files.js';
import type { PlatformPaths } from './presets.js';
import { loadState, ownDirName } from './state.js';
import { binaryName } from './agent.js';

export interface UninstallOptions {
  readonly hostRoot: string;
  readonly paths: PlatformPaths;
  readonly log: (line: string) => void;
}

export function uninstall(options: UninstallOptions): void {
  const netDir = join(options.hostRoot, options.paths.netDir);
  const ownDir = join(netDir, ownDirName);
  const state = loadState(ownDir);
  if (state !== undefined) restore(netDir, state, options.log);
  // Any entry left elsewhere (state lost, or written by hand): take it out too.
  for (const name of listConfigs(netDir)) removeEntryFrom(netDir, name, options.log);
  const binary = join(options.hostRoot, options.paths.binDir, binaryName);
  removeDurably(binary);
  removeOwnDir(ownDir);
  options.log(`uninstalled: removed ${binary} and ${ownDir}`);
}
