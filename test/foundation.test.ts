import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { repoPath } from './support/paths.js';

test('.ci/run calls the README test command', () => {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const ci = readFileSync(repoPath('.ci', 'run'), 'utf8');
  assert.match(readme, /```sh\nnpm test\n```/);
  assert.match(ci, /^npm test$/m);
});
