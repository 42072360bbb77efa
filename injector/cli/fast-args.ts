// The common command lines of `pillion inject` and `pillion uninject`, read without commander
// (issue 11: loading commander and what it imports cost a run more than the parse). Only a command
// line commander would accept is taken, read into exactly the flags commander would give the
// command; anything else (help, --version, an unknown or misspelt flag, a bad value, a missing
// -f, `--`, a stray argument) is left to the commander program, which says what is wrong as it
// always did. test/injector/cli/fast-args.test.ts checks both against commander on generated argv.
import { captureModes } from '../core/config.js';
import { kubeVersionValue, namespaceValue, shorthandValue } from './run.js';
import type { InjectFlags, ManifestFlags } from './run.js';

export type FastCommand = { readonly command: 'inject'; readonly flags: InjectFlags } | { readonly command: 'uninject'; readonly flags: ManifestFlags };

type Flags = Record<string, unknown> & { filename?: string[] };
/** Stores a flag's value, or returns false when commander would refuse it. */
type Store = (flags: Flags, value: string) => boolean;

const oneOf = (key: string, choices: readonly string[]): Store => (flags, raw) => {
  const value = shorthandValue(raw);
  if (!choices.includes(value)) return false;
  flags[key] = value;
  return true;
};
const checked = (key: string, read: (raw: string) => string | undefined): Store => (flags, raw) => {
  const value = read(raw);
  if (value === undefined) return false;
  flags[key] = value;
  return true;
};
const text = (key: string): Store => (flags, raw) => {
  flags[key] = raw;
  return true;
};
const filename: Store = (flags, raw) => {
  flags.filename = [...(flags.filename ?? []), shorthandValue(raw)];
  return true;
};

/** Each command's value flags (by every spelling) and boolean flags, as command.ts declares them. */
const manifestValueFlags: Record<string, Store> = {
  '-f': filename,
  '--filename': filename,
  '-o': oneOf('output', ['yaml', 'json']),
  '--output': oneOf('output', ['yaml', 'json']),
  '-n': checked('namespace', namespaceValue),
  '--namespace': checked('namespace', namespaceValue),
  '--report': oneOf('report', ['text', 'json']),
};
const valueFlags: Record<FastCommand['command'], Record<string, Store>> = {
  inject: {
    ...manifestValueFlags,
    '--templates': text('templates'),
    '--values': text('values'),
    '--config': text('config'),
    '--kube-version': checked('kubeVersion', kubeVersionValue),
    '--capture-mode': oneOf('captureMode', captureModes),
  },
  uninject: manifestValueFlags,
};
const booleanFlags: Record<FastCommand['command'], Record<string, string>> = {
  inject: { '--policy': 'policy' },
  uninject: {},
};

/** The command and its flags, or undefined: let commander read this command line. */
export function parseFastArgs(argv: readonly string[]): FastCommand | undefined {
  const command = argv[0];
  if (command !== 'inject' && command !== 'uninject') return undefined;
  // The program's own flags (-V, --version) are read anywhere on the line, help too: commander's.
  if (argv.some((arg) => /^(-V|-h|--version|--help)/.test(arg))) return undefined;
  const values = valueFlags[command];
  const booleans = booleanFlags[command];
  const flags: Flags = { output: 'yaml', report: 'text' };
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] as string;
    const store = Object.hasOwn(values, arg) ? values[arg] : undefined;
    if (store !== undefined) {
      const value = argv[++i];
      if (value === undefined || !store(flags, value)) return undefined;
      continue;
    }
    const boolean = Object.hasOwn(booleans, arg) ? booleans[arg] : undefined;
    if (boolean !== undefined) {
      flags[boolean] = true;
      continue;
    }
    // -fVALUE (and kubectl's -f=VALUE): a short flag with its value in the same argument.
    const short = /^-[^-]/.test(arg) && arg.length > 2 ? values[arg.slice(0, 2)] : undefined;
    if (short !== undefined) {
      if (!short(flags, arg.slice(2))) return undefined;
      continue;
    }
    const long = /^--[^=]+=/.exec(arg) === null ? undefined : arg.slice(0, arg.indexOf('='));
    const longStore = long !== undefined && long.startsWith('--') && Object.hasOwn(values, long) ? values[long] : undefined;
    if (longStore !== undefined) {
      if (!longStore(flags, arg.slice((long as string).length + 1))) return undefined;
      continue;
    }
    return undefined;
  }
  if (flags.filename === undefined) return undefined;
  return command === 'inject' ? { command, flags: flags as unknown as InjectFlags } : { command, flags: flags as unknown as ManifestFlags };
}
