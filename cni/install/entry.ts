// Putting Pillion's entry into the chosen configuration and taking it out again. File-level,
// shared by the agent and by uninstall.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  conflistFromConf,
  conflistNameFor,
  containsEntry,
  hasEntryLast,
  parseConfig,
  runtimeVersionsOf,
  serialize,
  sortConfigNames,
  withEntry,
  withoutEntry,
  type Json,
} from './conflist.js';
import { lstatIfPresent, ownershipOf, readIfExists, removeDurably, sha256, writeAtomic } from './files.js';
import { clearState, loadState, saveState, type InstallState } from './state.js';

export type EntryOutcome =
  | { readonly status: 'in-place'; readonly file: string; readonly primary: Json }
  | { readonly status: 'inserted'; readonly file: string; readonly primary: Json; readonly rewrite: boolean }
  | { readonly status: 'waiting'; readonly reason: string };

/** The configuration files as libcni's ConfFiles lists them: everything but directories (links included). */
export function listConfigs(netDir: string): string[] {
  try {
    return sortConfigNames(readdirSync(netDir, { withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => e.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Whether `path` is a symbolic link. Pillion never writes through one: the atomic rename would
 * replace the link with a file, and its target belongs to whoever made the link (often a mounted
 * ConfigMap).
 */
function isLink(path: string): boolean {
  return lstatIfPresent(path)?.isSymbolicLink() === true;
}

/**
 * Takes the entry out of the file `state` names: the remembered bytes when the file is still
 * exactly what Pillion wrote, the list without the entry otherwise. A converted `.conf` comes
 * back under its own name (unless the primary has written a new one meanwhile) and the
 * `.conflist` goes.
 */
export function restore(netDir: string, state: InstallState, log: (line: string) => void): void {
  const path = join(netDir, state.file);
  if (isLink(path)) {
    log(`${state.file} is now a symbolic link; left as it is`);
    return;
  }
  const current = readIfExists(path);
  const original = Buffer.from(state.original.bytes, 'base64');
  const owner = { mode: state.original.mode, uid: state.original.uid, gid: state.original.gid };
  if (state.original.name !== state.file) {
    const originalPath = join(netDir, state.original.name);
    if (lstatIfPresent(originalPath) === undefined) {
      writeAtomic(originalPath, original, owner);
      log(`restored ${state.original.name} byte for byte`);
    }
    if (current !== undefined) {
      const parsed = parseConfig(state.file, current);
      if (sha256(current) === state.writtenHash || (parsed.ok && parsed.kind === 'list' && containsEntry(parsed.doc))) {
        removeDurably(path);
        log(`removed ${state.file} (the conversion of ${state.original.name})`);
      }
    }
    return;
  }
  if (current === undefined) return;
  if (sha256(current) === state.writtenHash) {
    writeAtomic(path, original, { ...owner, mode: ownershipOf(path).mode });
    log(`restored ${state.file} byte for byte`);
    return;
  }
  removeEntryFrom(netDir, state.file, log);
}

/** Rewrites one list without Pillion's entry (mode and owner kept). */
export function removeEntryFrom(netDir: string, name: string, log: (line: string) => void): void {
  const path = join(netDir, name);
  if (isLink(path)) return;
  const bytes = readIfExists(path);
  if (bytes === undefined) return;
  const parsed = parseConfig(name, bytes);
  if (!parsed.ok || parsed.kind !== 'list' || !containsEntry(parsed.doc)) return;
  writeAtomic(path, serialize(withoutEntry(parsed.doc)), ownershipOf(path));
  log(`removed Pillion's entry from ${name}`);
}

/**
 * Makes sure the lexically first configuration ends with `entry`. Never writes a configuration
 * when there is none, nor one whose CNI version the plugin does not speak (`pluginVersions`, from
 * its VERSION): the runtime would run every pod's ADD at that version, and each would fail.
 * Returns what it found or did.
 */
export function ensureEntry(netDir: string, ownDir: string, entry: Json, pluginVersions: readonly string[], log: (line: string) => void): EntryOutcome {
  const names = listConfigs(netDir);
  const first = names[0];
  let state = loadState(ownDir);
  if (first === undefined) return { status: 'waiting', reason: `waiting for the primary CNI's configuration in ${netDir}` };
  const path = join(netDir, first);
  if (isLink(path)) {
    if (state !== undefined) restoreAndForget(netDir, ownDir, state, log);
    return { status: 'waiting', reason: `${first}, the configuration the runtime uses, is a symbolic link; Pillion does not write through links (add its entry where the link's target is made, or replace the link by a file)` };
  }
  const bytes = readIfExists(path);
  if (bytes === undefined) return { status: 'waiting', reason: `${first} disappeared while being read` };
  const parsed = parseConfig(first, bytes);
  if (parsed.ok) {
    const versions = runtimeVersionsOf(parsed.doc);
    const unspoken = versions.ok ? versions.versions.filter((v) => !pluginVersions.includes(v)) : [];
    if (!versions.ok || unspoken.length > 0) {
      // An entry already there (the primary or a new plugin binary changed the versions) comes out.
      if (state !== undefined) restoreAndForget(netDir, ownDir, state, log);
      const why = versions.ok
        ? `the runtime may run it at CNI version ${unspoken.map((v) => (v === '' ? '(none: no "cniVersion")' : v)).join(' or ')}, which pillion-cni does not speak (it speaks ${pluginVersions.join(', ')})`
        : versions.reason;
      return { status: 'waiting', reason: `not adding Pillion's entry to ${first}: ${why}` };
    }
  }
  // Our own write, recognised by its hash.
  const ours = state !== undefined && state.file === first && sha256(bytes) === state.writtenHash;
  if (ours && parsed.ok && parsed.kind === 'list' && hasEntryLast(parsed.doc, entry)) return { status: 'in-place', file: first, primary: parsed.doc };
  if (!parsed.ok) return { status: 'waiting', reason: `the first configuration is unusable, waiting for it to be fixed: ${parsed.reason}` };

  const target = parsed.kind === 'list' ? first : conflistNameFor(first);
  // The entry lives in another file than the one the runtime now picks: take it out there first.
  if (state !== undefined && state.file !== target) {
    restore(netDir, state, log);
    state = undefined;
  }
  // We had an entry in this file and the bytes changed under us (not: our entry's settings changed).
  const rewrite = state !== undefined && !ours;
  const owner = ownershipOf(path);

  if (parsed.kind === 'list') {
    if (hasEntryLast(parsed.doc, entry)) {
      // Already there, in bytes that are not our own write (a previous agent whose state is
      // gone, or a primary that kept the entry when it rewrote the file): these bytes, less the
      // entry, are what uninstall brings back, never a version from before that rewrite.
      const original = { name: first, bytes: serialize(withoutEntry(parsed.doc)).toString('base64'), ...owner };
      saveState(ownDir, { version: 1, file: first, writtenHash: sha256(bytes), original });
      return { status: 'in-place', file: first, primary: parsed.doc };
    }
    const before = containsEntry(parsed.doc) ? serialize(withoutEntry(parsed.doc)) : bytes;
    const next = serialize(withEntry(parsed.doc, entry));
    const original = ours && state !== undefined ? state.original : { name: first, bytes: before.toString('base64'), ...owner };
    saveState(ownDir, { version: 1, file: first, writtenHash: sha256(next), original });
    writeAtomic(path, next, owner);
    log(`${rewrite ? 're-inserted' : 'inserted'} Pillion last in ${first} (network "${String(parsed.doc.name)}")`);
    return { status: 'inserted', file: first, primary: parsed.doc, rewrite };
  }

  // A single-plugin .conf/.json: converted the way libcni does, so the network keeps its name.
  const targetPath = join(netDir, target);
  if (readIfExists(targetPath) !== undefined && state?.file !== target) {
    return { status: 'waiting', reason: `cannot convert ${first}: ${target} exists and is not Pillion's` };
  }
  const after = sortConfigNames([...names.filter((n) => n !== first && n !== target), target])[0];
  if (after !== target) {
    return { status: 'waiting', reason: `cannot convert ${first}: as ${target} it would no longer come first (${after ?? '?'} would)` };
  }
  const next = serialize(withEntry(conflistFromConf(parsed.doc), entry));
  saveState(ownDir, { version: 1, file: target, writtenHash: sha256(next), original: { name: first, bytes: bytes.toString('base64'), ...owner } });
  writeAtomic(targetPath, next, owner);
  removeDurably(path);
  log(`converted ${first} to ${target} keeping network "${String(parsed.doc.name)}", Pillion last${rewrite ? ' (the primary had rewritten it)' : ''}`);
  return { status: 'inserted', file: target, primary: parsed.doc, rewrite };
}

/** restore(), then forget the state: the entry is out, and a later pass must not restore again. */
function restoreAndForget(netDir: string, ownDir: string, state: InstallState, log: (line: string) => void): void {
  restore(netDir, state, log);
  clearState(ownDir);
}

/** Removes the agent's own directory (kubeconfig, state). */
export function removeOwnDir(ownDir: string): void {
  rmSync(ownDir, { recursive: true, force: true });
}
