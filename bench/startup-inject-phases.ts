// Helper of bench/startup-breakdown.ts, run as a fresh process: `pillion inject -f FILE`'s work in
// the order the CLI does it, with a time mark after each step, everything cold (nothing warmed,
// as in the real command). Prints one JSON line of milliseconds: since the process started at
// entry (Node's start-up and this file), loading the modules the `pillion` binary loads, building
// the setup (bundled templates and values), reading the file, the injection pipeline
// (injectManifests: parse, decide, inject, re-serialise, read back), and writing the output.
//   node dist/bench/startup-inject-phases.js FILE
import { readFileSync, writeSync, openSync, closeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const atEntry = performance.now();
const file = process.argv[2];
if (file === undefined) throw new Error('usage: startup-inject-phases.js FILE');
const marks: Record<string, number> = { atEntryMs: atEntry };
let t = performance.now();
const step = (name: string): void => {
  const now = performance.now();
  marks[name] = now - t;
  t = now;
};
// What dist/injector/bin/pillion.js imports to run `inject` (a well-formed command line: no commander).
await import('../injector/cli/fast-args.js');
const command = await import('../injector/cli/run.js');
step('importMs');
const { buildSetup } = await import('../injector/cli/setup.js');
const { injectManifests } = await import('../injector/cli/inject-manifest.js');
const { injectPod } = await import('../injector/core/inject.js');
const setup = buildSetup({ kubeVersion: undefined });
step('setupMs');
const text = readFileSync(file, 'utf8');
step('readMs');
const result = injectManifests([{ file, text }], { mode: 'candidate', namespace: undefined, output: 'yaml' }, (pod, ctx) => injectPod(pod, ctx, setup));
step('pipelineMs');
if (!result.ok) throw new Error(`pipeline failed: ${JSON.stringify(result.problems.slice(0, 3))}`);
const fd = openSync('/dev/null', 'w');
writeSync(fd, result.output);
closeSync(fd);
step('writeMs');
void command.stdinName;
process.stdout.write(`${JSON.stringify({ ...marks, injected: result.reports.filter((r) => r.decision === 'injected').length, outBytes: result.output.length })}\n`);
