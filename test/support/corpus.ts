// The corpus of real public manifests: test/corpus/manifests (cited in test/corpus/SOURCES.md), and
// ../shared/corpus/manifests when the checkout has it beside it (CI does).
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from './paths.js';
import { inCI } from './privileges.js';

/** The shared corpus folder beside the checkout (it may be absent on a laptop). */
export const sharedCorpusDir = repoPath('..', 'shared', 'corpus', 'manifests');

/** The YAML or JSON manifests directly in `dir`, in name order. */
export function manifestFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => /\.(ya?ml|json)$/.test(name)).sort().map((name) => join(dir, name));
}

/** Every YAML or JSON manifest of both folders that exist, each folder's in name order. */
export function corpusFiles(): string[] {
  return [repoPath('test', 'corpus', 'manifests'), sharedCorpusDir].filter((dir) => existsSync(dir)).flatMap(manifestFiles);
}

/**
 * Whether the shared corpus is here. Under CI=true its absence fails the test: CI checks it out,
 * so a missing one is a broken checkout, and a run that read less than it should must not pass.
 */
export function requireSharedCorpusInCI(): boolean {
  if (existsSync(sharedCorpusDir)) return true;
  if (inCI) assert.fail(`CI=true but the shared corpus ${sharedCorpusDir} is missing`);
  return false;
}
