// `pillion inject` and `pillion uninject` as commander commands: their flags, help and usage
// errors. What they run is in run.ts; the common command lines skip commander altogether
// (fast-args.ts, injector/bin/pillion.ts).
//
// Exit codes: 0 success; 1 a manifest (or a file named by a flag) cannot be processed — nothing
// is written to stdout; 2 usage error (commander reports those, see injector/bin/pillion.ts);
// 141 the reader of stdout went away before the output was written (`| head`), as for a Go or C
// program killed by SIGPIPE, without a message.
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { captureModes } from '../core/config.js';
import { kubeVersionValue, namespaceValue, runInject, runUninject, shorthandValue } from './run.js';
import type { InjectFlags, ManifestFlags } from './run.js';
import { exitWith } from './output.js';

export { stdinName } from './run.js';

function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), shorthandValue(value)];
}

function choice<T extends string>(choices: readonly T[]): (value: string) => T {
  return (raw) => {
    const value = shorthandValue(raw);
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    return value as T;
  };
}

function parseKubeVersionFlag(raw: string): string {
  const value = kubeVersionValue(raw);
  if (value === undefined) throw new InvalidArgumentError('expected a Kubernetes version like 1.29 or v1.29.3');
  return value;
}

function parseNamespaceFlag(raw: string): string {
  const value = namespaceValue(raw);
  if (value === undefined) throw new InvalidArgumentError('expected a namespace name (DNS label: a-z, 0-9, -)');
  return value;
}

const outputOption = (): Option => new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).argParser(choice(['yaml', 'json'] as const)).default('yaml');
const reportOption = (): Option =>
  new Option('--report <format>', 'per-workload report format on stderr (and the errors, when json)')
    .choices(['text', 'json'])
    .argParser(choice(['text', 'json'] as const))
    .default('text');

/**
 * A command over manifests: `-f` and `-o` first, then the command's own options (`extra`), then
 * `-n`, `--report` and the exit codes.
 */
function manifestCommand(program: Command, name: string, description: string, example: string, extra: (command: Command) => Command = (c) => c): Command {
  const command = program
    .command(name)
    .description(description)
    .requiredOption('-f, --filename <file>', 'manifest file, folder (its *.yaml, *.yml, *.json) or - for stdin; repeatable', collect)
    .addOption(outputOption());
  return extra(command)
    .option('-n, --namespace <ns>', 'namespace for objects whose metadata names none (default: default)', parseNamespaceFlag)
    .addOption(reportOption())
    .addHelpText(
      'after',
      '\nExit codes: 0 success; 1 a document or file cannot be processed (nothing on stdout); 2 usage error;\n' +
        `141 stdout was closed early (e.g. | head).\nExample: ${example}\n`,
    );
}

/** Add `inject` and its inverse `uninject` to the `pillion` program. */
export function registerInjectCommand(program: Command): void {
  manifestCommand(
    program,
    'inject',
    'inject the proxy into the workloads of Kubernetes manifests (dry run: manifests on stdout, report on stderr)',
    'pillion inject -f app.yaml | kubectl apply -f -',
    (command) =>
      command
        .option('--templates <dir>', 'template folder replacing the bundled templates/')
        .option('--values <file>', 'YAML values merged over the template folder\'s values.yaml')
        .option('--config <file>', 'injector configuration file (YAML)')
        .option('--policy', 'decide like the webhook (opt-in policy) instead of injecting every workload that does not opt out')
        .option('--kube-version <version>', 'Kubernetes version of the target cluster (for nativeSidecar: auto)', parseKubeVersionFlag)
        .addOption(
          new Option('--capture-mode <mode>', 'who installs capture: the pillion-init init container, or the pillion-cni plugin (the config\'s captureMode)')
            .choices(captureModes)
            .argParser(choice(captureModes)),
        ),
  ).action(async (flags: InjectFlags) => {
    exitWith(await runInject(flags));
  });
  manifestCommand(
    program,
    'uninject',
    'remove what pillion inject added (per the pillion.dev/status annotation) from the workloads of manifests',
    'pillion uninject -f injected.yaml | kubectl apply -f -',
  ).action(async (flags: ManifestFlags) => {
    exitWith(await runUninject(flags));
  });
}
