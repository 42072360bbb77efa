// The corpus of real public manifests: test/corpus/manifests (cited in test/corpus/SOURCES.md), and
// ../shared/corpus/manifests when the checkout has it beside it (CI does).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from './paths.js';

/** The shared corpus folder beside the checkout (it may be absent on a laptop). */
export const sharedCorpusDir = repoPath('..', 'shared', 'corpus', 'manifests');

/** Every YAML or JSON manifest of both folders that exist, each folder's in name order. */
export function corpusFiles(): string[] {
  const dirs = [repoPath('test', 'corpus', 'manifests'), sharedCorpusDir];
  return dirs.filter((dir) => existsSync(dir)).flatMap((dir) =>
    readdirSync(dir).filter((name) => /\.(ya?ml|json)$/.test(name)).sort().map((name) => join(dir, name)));
}
