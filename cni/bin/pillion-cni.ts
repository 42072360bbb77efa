#!/usr/bin/env node
// pillion-cni: Pillion's chained CNI plugin (docs/cni.md). The runtime runs it with the CNI
// environment and the network config on stdin; stdout carries only the result.
//
// NODE_OPTIONS from the runtime's environment is not ours to honour (a --require or --inspect
// meant for something else must not run inside a CNI call). The single executable ignores it
// outright: cni/build/build-sea.ts builds it with "execArgvExtension": "none" on a Node that
// honours that (24.7+). The Node entry, run by node, cannot: when NODE_OPTIONS is set, it runs
// itself again without it before doing anything (node has already parsed it by then).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isSea } from 'node:sea';
import { exitWhenWritten, FdWriter } from '../../init/index.js';
import { runPlugin } from '../plugin/main.js';

function rerunWithoutNodeOptions(): number {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env, stdio: 'inherit' });
  return child.status ?? 1;
}

if (!isSea() && (process.env.NODE_OPTIONS ?? '') !== '') {
  process.exitCode = rerunWithoutNodeOptions();
} else {
  const stdout = new FdWriter(1, () => process.stdout);
  const stderr = new FdWriter(2, () => process.stderr, true);
  // runPlugin has awaited all of its work (commands, the API server's answer) when it returns.
  void runPlugin(process.env, { readStdin: () => readFileSync(0, 'utf8'), stdout: stdout.write, stderr: stderr.write }).then((code) => {
    exitWhenWritten(code, [stdout, stderr]);
  });
}
