// `pillion inject` and `pillion uninject` once their flags are read: read the -f inputs, run the
// document pipeline, print the manifests and the report. No commander here: the flags come from
// injector/cli/fast-args.ts on the common path, or from commander (command.ts) for the rest
// (issue 11: a run of `pillion inject` should load only what it uses).
//
// Exit codes: 0 success; 1 a manifest (or a file named by a flag) cannot be processed — nothing
// is written to stdout; 2 usage error; 141 the reader of stdout went away before the output was
// written (`| head`), as for a Go or C program killed by SIGPIPE, without a message.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseKubeMinor } from '../core/config.js';
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
import { writeLog, writeOutput } from './output.js';

export const stdinName = '<stdin>';

export interface InjectFlags {
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

export type ManifestFlags = Pick<InjectFlags, 'filename' | 'output' | 'report' | 'namespace'>;

/**
 * kubectl (pflag) takes `-o=json` and `-f=app.yaml` as `-o json` and `-f app.yaml`; commander
 * would keep the `=`. A file whose name starts with `=` can still be given as `-f ./=name`.
 */
export function shorthandValue(value: string): string {
  return value.startsWith('=') ? value.slice(1) : value;
}

/** --kube-version's value, or undefined when it is no Kubernetes version. */
export function kubeVersionValue(raw: string): string | undefined {
  const value = shorthandValue(raw);
  return parseKubeMinor(value) === undefined ? undefined : value.trim();
}

/** --namespace's value, or undefined when it is no namespace name. */
export function namespaceValue(raw: string): string | undefined {
  const value = shorthandValue(raw);
  return dnsLabel.test(value) ? value : undefined;
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
    if (decoded.ok) inputs.push({ file, text: decoded.text, json: decoded.json });
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
  const fail = (problems: readonly ReportedProblem[]): void => {
    if (flags.report === 'json') writeLog(formatJsonProblems(problems));
    else for (const problem of problems) writeLog(formatProblem(problem, command));
  };
  if (flags.filename.filter((name) => name === '-').length > 1) {
    if (flags.report === 'json') fail([{ file: stdinName, document: undefined, line: undefined, message: 'standard input (-f -) can be read only once' }]);
    else writeLog('error: standard input (-f -) can be read only once\n');
    return 2;
  }
  const transform = prepare((message) => {
    if (flags.report === 'json') fail([{ file: undefined, document: undefined, line: undefined, message }]);
    else writeLog(`pillion ${command}: ${message}\n`);
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
  writeLog(flags.report === 'json' ? formatJsonReport(result.reports) : formatTextReport(result.reports));
  writeOutput(result.output);
  return 0;
}

export function runInject(flags: InjectFlags): Promise<number> {
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
export function runUninject(flags: ManifestFlags): Promise<number> {
  return runManifests('uninject', flags, 'candidate', () => (pod) => uninjectPod(pod));
}
