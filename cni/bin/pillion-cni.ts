#!/usr/bin/env node
// pillion-cni: Pillion's chained CNI plugin (docs/cni.md). The runtime runs it with the CNI
// environment and the network config on stdin; stdout carries only the result.
//
// NODE_OPTIONS from the runtime's environment is not ours to honour (a --require or --inspect
// meant for something else must not run inside a CNI call): when it is set, the plugin runs
// itself again without it before doing anything. Node 20 has already parsed it by then; Node
// versions whose single-executable builds know "execArgvExtension": "none" (set in
// cni/build/sea-config.json) ignore it outright.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isSea } from 'node:sea';
import { runPlugin } from '../plugin/main.js';

function rerunWithoutNodeOptions(): number {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  // In a single executable argv[1] repeats argv[0]; under node it is the script.
  const args = isSea() ? process.argv.slice(2) : [...process.execArgv, ...process.argv.slice(1)];
  const child = spawnSync(process.execPath, args, { env, stdio: 'inherit' });
  return child.status ?? 1;
}

if ((process.env.NODE_OPTIONS ?? '') !== '') {
  process.exitCode = rerunWithoutNodeOptions();
} else {
  void runPlugin(process.env, {
    readStdin: () => readFileSync(0, 'utf8'),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then((code) => {
    process.exitCode = code;
  });
}
