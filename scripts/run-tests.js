#!/usr/bin/env node
// Runs the compiled test suite with node's built-in test runner.
// Unit tests (dist/test) always; network-namespace and e2e tests (dist/e2e) unless --unit.
// Kept as a tiny script so the README's one test command works the same everywhere.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const unitOnly = process.argv.includes('--unit');
const dirs = ['dist/test', ...(unitOnly ? [] : ['dist/e2e'])].filter((d) => existsSync(d));
const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-concurrency=1', ...dirs],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
