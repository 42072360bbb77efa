#!/usr/bin/env node
// pillion-init: plan, apply, verify, explain and clean up Pillion's traffic-capture rules.
// Entry point: the only place the real executor is chosen. See docs/init.md.
import { runCli } from '../cli/main.js';
import { SpawnExecutor } from '../exec/spawn-executor.js';

const code = await runCli(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}, new SpawnExecutor());
process.exitCode = code;
