// Golden-file comparison: UPDATE_GOLDEN=1 rewrites the file; otherwise a mismatch fails with a diff.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { repoPath, updateGolden } from './paths.js';

/** Compare `actual` with test/golden/<relPath>. */
export function assertGolden(relPath: string, actual: string): void {
  const file = repoPath('test', 'golden', relPath);
  if (updateGolden) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) {
    assert.fail(`golden file test/golden/${relPath} is missing; run with UPDATE_GOLDEN=1 to create it`);
  }
  assert.equal(actual, readFileSync(file, 'utf8'), `output differs from test/golden/${relPath} (UPDATE_GOLDEN=1 regenerates)`);
}
