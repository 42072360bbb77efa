// Locations inside the repository, independent of the working directory and of dist/ nesting.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root');
    dir = parent;
  }
  return dir;
}

export const repoRoot = findRoot();
export const repoPath = (...parts: string[]): string => join(repoRoot, ...parts);
/** The built CLIs, as CI and users run them. */
export const pillionInitBin = repoPath('dist', 'init', 'bin', 'pillion-init.js');
export const pillionBin = repoPath('dist', 'injector', 'bin', 'pillion.js');
/** pillion-init as the init image ships it: the bundle's launcher (injector/build/bundle.ts). */
export const shippedPillionInitBin = repoPath('dist', 'bundle', 'pillion-init', 'pillion-init.js');
/** Golden files are regenerated when UPDATE_GOLDEN=1. */
export const updateGolden = process.env.UPDATE_GOLDEN === '1';
