#!/usr/bin/env node
// pillion-init: plan, apply, verify, explain and clean up Pillion's traffic-capture rules.
// Entry point: the only place the real executor is chosen. See docs/init.md.
import { runCli } from '../cli/main.js';
import { fdWriter } from '../cli/write-fd.js';
import { SpawnExecutor } from '../exec/spawn-executor.js';

// No top-level await: the shipped bundle is CommonJS (injector/build/bundle.ts).
void runCli(process.argv.slice(2), process.env, {
  stdout: fdWriter(1, () => process.stdout),
  stderr: fdWriter(2, () => process.stderr, true),
}, new SpawnExecutor()).then((code) => {
  process.exitCode = code;
});
