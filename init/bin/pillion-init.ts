#!/usr/bin/env node
// pillion-init: plan, apply, verify, explain and clean up Pillion's traffic-capture rules.
// Entry point: the only place the real executor is chosen. See docs/init.md.
import { runCli } from '../cli/main.js';
import type { Executor } from '../exec/executor.js';

// execa is loaded on first use only: --dry-run, explain of a given interface and usage errors
// then start without paying for it (node start-up dominates an init container's run time).
let real: Promise<Executor> | undefined;
const executor: Executor = {
  run: async (argv, options) => {
    real ??= import('../exec/execa-executor.js').then((m) => new m.ExecaExecutor());
    return (await real).run(argv, options);
  },
};

const code = await runCli(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}, executor);
process.exitCode = code;
