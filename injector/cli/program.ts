// The `pillion` program as commander sees it: every command, its flags, --help, --version and the
// usage errors. injector/bin/pillion.ts runs it for every command line fast-args.ts does not take
// (the webhook, the CNI agent, help, anything unusual or wrong), so those behave as they always did.
//
// Exit codes: 0 success (and --help, --version); 1 the command failed (see each command);
// 2 usage error: unknown command or flag, missing or invalid flag value.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCniCommand } from './cni-command.js';
import { registerInjectCommand } from './command.js';
import { registerWebhookCommand } from '../webhook/command.js';

function readVersion(): string {
  // package.json sits at the package root: three levels above dist/injector/cli/ (and above the
  // bundle's dist/bundle/pillion/), two above injector/cli/.
  for (const relative of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pillion' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
}

/** Parse `argv` (process.argv) and run the command; sets process.exitCode. */
export async function runProgram(argv: readonly string[]): Promise<void> {
  const program = new Command('pillion')
    .description('Sidecar injection for Kubernetes: dry-run injection of manifests and the admission webhook')
    .version(readVersion(), '-V, --version')
    // Subcommands created with program.command() inherit this: every usage error throws to main().
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  registerInjectCommand(program);
  registerWebhookCommand(program);
  registerCniCommand(program);

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // Commander has already printed its message on stderr (help and version on stdout). Its own
    // errors are all usage errors; a command's error with its own code keeps its exit code.
    if (error.exitCode === 0) process.exitCode = 0;
    else process.exitCode = error.code.startsWith('commander.') ? 2 : error.exitCode;
  }
}
