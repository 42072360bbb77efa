// `pillion inject`: the injection core as a dry run over manifest files.
//
// Exit codes: 0 success; 1 a manifest (or a file named by a flag) cannot be processed — nothing
// is written to stdout; 2 usage error (commander reports those, see injector/bin/pillion.ts).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { parseKubeMinor } from '../core/config.js';
import { injectPod } from '../core/inject.js';
import { injectManifests } from './inject-manifest.js';
import type { ManifestInput, ManifestProblem } from './inject-manifest.js';
import { formatJsonReport, formatProblem, formatTextReport } from './report.js';
import { buildSetup, SetupError } from './setup.js';

export const stdinName = '<stdin>';

interface InjectFlags {
  readonly filename: readonly string[];
  readonly output: 'yaml' | 'json';
  readonly templates?: string;
  readonly values?: string;
  readonly config?: string;
  readonly policy?: boolean;
  readonly kubeVersion?: string;
  readonly namespace?: string;
  readonly report: 'text' | 'json';
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseKubeVersionFlag(value: string): string {
  if (parseKubeMinor(value) === undefined) throw new InvalidArgumentError('expected a Kubernetes version like 1.29 or v1.29.3');
  return value.trim();
}

function parseNamespaceFlag(value: string): string {
  if (!dnsLabel.test(value)) throw new InvalidArgumentError('expected a namespace name (DNS label: a-z, 0-9, -)');
  return value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Expand `-f` arguments: files as given, folders to their *.yaml/*.yml/*.json files (sorted). */
async function readInputs(names: readonly string[], problems: ManifestProblem[]): Promise<ManifestInput[]> {
  const inputs: ManifestInput[] = [];
  const fail = (file: string, message: string): void => {
    problems.push({ file, document: undefined, line: undefined, message });
  };
  for (const name of names) {
    if (name === '-') {
      inputs.push({ file: stdinName, text: await readStdin() });
      continue;
    }
    try {
      const files = statSync(name).isDirectory()
        ? readdirSync(name)
            .filter((entry) => /\.(ya?ml|json)$/.test(entry))
            .sort()
            .map((entry) => join(name, entry))
        : [name];
      for (const file of files) inputs.push({ file, text: readFileSync(file, 'utf8') });
    } catch (error) {
      fail(name, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return inputs;
}

async function runInject(flags: InjectFlags): Promise<number> {
  if (flags.filename.filter((name) => name === '-').length > 1) {
    process.stderr.write('error: standard input (-f -) can be read only once\n');
    return 2;
  }
  let setup;
  try {
    setup = buildSetup({
      templatesDir: flags.templates,
      valuesFile: flags.values,
      configFile: flags.config,
      kubeVersion: flags.kubeVersion,
    });
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    process.stderr.write(`pillion inject: ${error.message}\n`);
    return 1;
  }
  const problems: ManifestProblem[] = [];
  const inputs = await readInputs(flags.filename, problems);
  const result = injectManifests(
    inputs,
    { mode: flags.policy === true ? 'policy' : 'candidate', namespace: flags.namespace, output: flags.output },
    (pod, ctx) => injectPod(pod, ctx, setup),
  );
  const allProblems = [...problems, ...(result.ok ? [] : result.problems)];
  if (!result.ok || allProblems.length > 0) {
    for (const problem of allProblems) process.stderr.write(formatProblem(problem));
    return 1;
  }
  process.stderr.write(flags.report === 'json' ? formatJsonReport(result.reports) : formatTextReport(result.reports));
  process.stdout.write(result.output);
  return 0;
}

/** Add `inject` to the `pillion` program. */
export function registerInjectCommand(program: Command): void {
  program
    .command('inject')
    .description('inject the proxy into the workloads of Kubernetes manifests (dry run: manifests on stdout, report on stderr)')
    .requiredOption('-f, --filename <file>', 'manifest file, folder (its *.yaml, *.yml, *.json) or - for stdin; repeatable', collect)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('--templates <dir>', 'template folder replacing the bundled templates/')
    .option('--values <file>', 'YAML values merged over the template folder\'s values.yaml')
    .option('--config <file>', 'injector configuration file (YAML)')
    .option('--policy', 'decide like the webhook (opt-in policy) instead of injecting every workload that does not opt out')
    .option('--kube-version <version>', 'Kubernetes version of the target cluster (for nativeSidecar: auto)', parseKubeVersionFlag)
    .option('-n, --namespace <ns>', 'namespace for objects whose metadata names none (default: default)', parseNamespaceFlag)
    .addOption(new Option('--report <format>', 'per-workload report format on stderr').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      '\nExit codes: 0 success; 1 a document or file cannot be processed (nothing on stdout); 2 usage error.\n' +
        'Example: pillion inject -f app.yaml | kubectl apply -f -\n',
    )
    .action(async (flags: InjectFlags) => {
      process.exitCode = await runInject(flags);
    });
}
