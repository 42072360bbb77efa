#!/usr/bin/env node
// pillion-init: plan, apply, verify, explain and clean up Pillion's traffic-capture rules.
// Entry point: the only place the real executor is chosen. See docs/init.md.
import { runCli } from '../cli/main.js';
import { exitWhenWritten, FdWriter } from '../cli/write-fd.js';
import { SpawnExecutor } from '../exec/spawn-executor.js';

const stdout = new FdWriter(1, () => process.stdout);
const stderr = new FdWriter(2, () => process.stderr, true);
// No top-level await: the shipped bundle is CommonJS (injector/build/bundle.ts). Every command has
// awaited all of its work (processes, listeners) when runCli returns.
void runCli(process.argv.slice(2), process.env, { stdout: stdout.write, stderr: stderr.write }, new SpawnExecutor()).then((code) => {
  exitWhenWritten(code, [stdout, stderr]);
});
