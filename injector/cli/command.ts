// `pillion inject`: the injection core as a dry run over manifest files.
//
// Exit codes: 0 success; 1 a manifest (or a file named by a flag) cannot be processed — nothing
// is written to stdout; 2 usage error (commander reports those, see injector/bin/pillion.ts);
// 141 the reader of stdout went away before the output was written (`| head`), as for a Go or C
// program killed by SIGPIPE, without a message.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { captureModes, parseKubeMinor } from '../core/config.js';
import { describeFileError } from '../core/files.js';
import { injectPod, uninjectPod } from '../core/inject.js';
import { injectManifests } from './inject-manifest.js';
import type { InjectFn, ManifestInput, ManifestProblem } from './inject-manifest.js';
import type { CaptureMode, InjectContext, InjectorSetup } from '../core/types.js';
import { decodeManifest, maxInputBytes } from './input.js';
import { formatJsonProblems, formatJsonReport, formatProblem, formatTextReport } from './report.js';
import type { ReportedProblem } from './report.js';
import { buildSetup } from './setup.js';
import { SetupError } from '../core/errors.js';
import { dnsLabel } from '../core/names.js';

export const stdinName = '<stdin>';

interface InjectFlags {
  readonly filename: readonly string[];
  readonly output: 'yaml' | 'json';
  readonly templates?: string;
  readonly values?: string;
  readonly config?: string;
  readonly policy?: boolean;
  readonly kubeVersion?: string;
  readonly captureMode?: CaptureMode;
  readonly namespace?: string;
  readonly report: 'text' | 'json';
}


/**
 * kubectl (pflag) takes `-o=json` and `-f=app.yaml` as `-o json` and `-f app.yaml`; commander
 * would keep the `=`. A file whose name starts with `=` can still be given as `-f ./=name`.
 */
function shorthandValue(value: string): string {
  return value.startsWith('=') ? value.slice(1) : value;
}

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
  const value = shorthandValue(raw);
  if (parseKubeMinor(value) === undefined) throw new InvalidArgumentError('expected a Kubernetes version like 1.29 or v1.29.3');
  return value.trim();
}

function parseNamespaceFlag(raw: string): string {
  const value = shorthandValue(raw);
  if (!dnsLabel.test(value)) throw new InvalidArgumentError('expected a namespace name (DNS label: a-z, 0-9, -)');
  return value;
}

const limitText = `${maxInputBytes / (1024 * 1024)} MiB`;
const tooLarge = `larger than ${limitText}, the limit for all -f inputs together; split the manifests over several runs`;

/** All of stdin, or undefined once more than `budget` bytes arrived (the rest is not read). */
async function readStdin(budget: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > budget) {
      process.stdin.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A file's bytes (a FIFO's too), or undefined when it has more than `budget`. */
function readFileLimited(file: string, budget: number): Buffer | undefined {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, budget - size + 1));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) return Buffer.concat(chunks, size);
      size += read;
      if (size > budget) return undefined;
      chunks.push(chunk.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
}

/** Expand `-f` arguments: files as given, folders to their *.yaml/*.yml/*.json files (sorted). */
async function readInputs(names: readonly string[], problems: ManifestProblem[]): Promise<ManifestInput[]> {
  const inputs: ManifestInput[] = [];
  let budget = maxInputBytes;
  const fail = (file: string, message: string, line?: number): void => {
    problems.push({ file, document: undefined, line, message });
  };
  const add = (file: string, bytes: Buffer | undefined): boolean => {
    if (bytes === undefined) {
      fail(file, tooLarge);
      return false;
    }
    budget -= bytes.length;
    const decoded = decodeManifest(bytes);
    if (decoded.ok) inputs.push({ file, text: decoded.text });
    else fail(file, decoded.message, decoded.line);
    return true;
  };
  for (const name of names) {
    if (name === '-') {
      if (!add(stdinName, await readStdin(budget))) return inputs;
      continue;
    }
    let files: string[];
    try {
      files = statSync(name).isDirectory()
        ? readdirSync(name)
            .filter((entry) => /\.(ya?ml|json)$/.test(entry))
            .sort()
            .map((entry) => join(name, entry))
        : [name];
    } catch (error) {
      fail(name, `cannot read: ${describeFileError(error)}`);
      continue;
    }
    for (const file of files) {
      let bytes: Buffer | undefined;
      try {
        bytes = readFileLimited(file, budget);
      } catch (error) {
        fail(file, `cannot read: ${describeFileError(error)}`);
        continue;
      }
      // Past the limit nothing more is read: the run fails anyway.
      if (!add(file, bytes)) return inputs;
    }
  }
  return inputs;
}

/**
 * A reader that stops early (`pillion inject -f big.yaml | head`) is not an error of ours: end
 * quietly with the status a program killed by SIGPIPE has. A closed stderr only loses the report.
 */
function quietOnClosedPipes(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(141);
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

type ManifestFlags = Pick<InjectFlags, 'filename' | 'output' | 'report' | 'namespace'>;

/**
 * The run both commands share: read the -f inputs, run the pipeline with `transform`, print the
 * manifests and the report, or the problems (nothing on stdout then). `prepare` builds what the
 * transform needs; it returns undefined after reporting its own failure (exit 1).
 */
async function runManifests(
  command: 'inject' | 'uninject',
  flags: ManifestFlags,
  mode: InjectContext['mode'],
  prepare: (fail: (message: string) => void) => InjectFn | undefined,
): Promise<number> {
  quietOnClosedPipes();
  const fail = (problems: readonly ReportedProblem[]): void => {
    if (flags.report === 'json') process.stderr.write(formatJsonProblems(problems));
    else for (const problem of problems) process.stderr.write(formatProblem(problem, command));
  };
  if (flags.filename.filter((name) => name === '-').length > 1) {
    if (flags.report === 'json') fail([{ file: stdinName, document: undefined, line: undefined, message: 'standard input (-f -) can be read only once' }]);
    else process.stderr.write('error: standard input (-f -) can be read only once\n');
    return 2;
  }
  const transform = prepare((message) => {
    if (flags.report === 'json') fail([{ file: undefined, document: undefined, line: undefined, message }]);
    else process.stderr.write(`pillion ${command}: ${message}\n`);
  });
  if (transform === undefined) return 1;
  const problems: ManifestProblem[] = [];
  const inputs = await readInputs(flags.filename, problems);
  const result = injectManifests(inputs, { mode, namespace: flags.namespace, output: flags.output }, transform);
  const allProblems = [...problems, ...(result.ok ? [] : result.problems)];
  if (!result.ok || allProblems.length > 0) {
    fail(allProblems);
    return 1;
  }
  process.stderr.write(flags.report === 'json' ? formatJsonReport(result.reports) : formatTextReport(result.reports));
  process.stdout.write(result.output);
  return 0;
}

function runInject(flags: InjectFlags): Promise<number> {
  return runManifests('inject', flags, flags.policy === true ? 'policy' : 'candidate', (fail) => {
    let setup: InjectorSetup;
    try {
      setup = buildSetup({
        templatesDir: flags.templates, valuesFile: flags.values, configFile: flags.config, kubeVersion: flags.kubeVersion, captureMode: flags.captureMode,
      });
    } catch (error) {
      if (!(error instanceof SetupError)) throw error;
      fail(error.message);
      return undefined;
    }
    return (pod, ctx) => injectPod(pod, ctx, setup);
  });
}

/** `pillion uninject`: remove what Pillion added (per pillion.dev/status); no templates needed. */
function runUninject(flags: ManifestFlags): Promise<number> {
  return runManifests('uninject', flags, 'candidate', () => (pod) => uninjectPod(pod));
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
    process.exitCode = await runInject(flags);
  });
  manifestCommand(
    program,
    'uninject',
    'remove what pillion inject added (per the pillion.dev/status annotation) from the workloads of manifests',
    'pillion uninject -f injected.yaml | kubectl apply -f -',
  ).action(async (flags: ManifestFlags) => {
    process.exitCode = await runUninject(flags);
  });
}
