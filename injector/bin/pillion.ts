#!/usr/bin/env node
// `pillion`: the injector's command line — `pillion inject` (dry-run injection of manifests),
// `pillion webhook` (the admission webhook server) and `pillion cni install|uninstall` (the CNI
// node agent, loaded only when asked for).
//
// A well-formed `pillion inject` or `pillion uninject` runs without commander (fast-args.ts reads
// it as commander would); every other command line, and any that is not well-formed, goes to the
// commander program (program.ts), which gives help, versions and usage errors (issue 11).
//
// Exit codes: 0 success (and --help, --version); 1 the command failed (see each command);
// 2 usage error: unknown command or flag, missing or invalid flag value.
import { parseFastArgs } from '../cli/fast-args.js';

// No top-level await: the bundle is one CommonJS file (injector/build/bundle.ts).
async function main(): Promise<void> {
  const fast = parseFastArgs(process.argv.slice(2));
  if (fast !== undefined) {
    const [{ runInject, runUninject }, { exitWith }] = await Promise.all([import('../cli/run.js'), import('../cli/output.js')]);
    exitWith(fast.command === 'inject' ? await runInject(fast.flags) : await runUninject(fast.flags));
  } else {
    const { runProgram } = await import('../cli/program.js');
    await runProgram(process.argv);
  }
}

// A rejection is Node's unhandled one: its stack on stderr, exit code 1.
void main();
