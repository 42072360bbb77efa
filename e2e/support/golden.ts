// Golden files for what the e2e harness generates, kept next to the tests in e2e/netns/golden/
// (test/golden/ belongs to the unit tests). Same convention as test/support/golden.ts:
// UPDATE_GOLDEN=1 rewrites, otherwise a mismatch fails.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { repoPath, updateGolden } from '../../test/support/paths.js';

export function assertE2eGolden(name: string, actual: string): void {
  const file = repoPath('e2e', 'netns', 'golden', name);
  if (updateGolden) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) assert.fail(`golden file e2e/netns/golden/${name} is missing; run with UPDATE_GOLDEN=1 to create it`);
  assert.equal(actual, readFileSync(file, 'utf8'), `output differs from e2e/netns/golden/${name} (UPDATE_GOLDEN=1 regenerates)`);
}
