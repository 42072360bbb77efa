// The command-line parser of pillion-init's flags (and of parseCaptureConfig, which the injector and
// the CNI plugin use): long options only, each with a required value (`--x <value>`, also
// `--x=value`), an optional one (`--x [bool]`) or none (`--dry-run`). It replaces commander on
// the path every pod start runs (issue 11: loading commander cost more than the parse), and reads
// exactly what commander read, with commander's own words for every mistake:
//   - a value option takes the next argument whatever it is (`--x --y` sets x to "--y"); an
//     optional value takes it unless it looks like an option (a negative number does not);
//   - `--` ends the options; every later argument is a positional one;
//   - an argument that looks like an option and is not one is unknown: "unknown option '--x'",
//     with "(Did you mean --y?)" when a known flag is close; from the first unknown option on,
//     known options are still read but everything else is unknown too (commander's rule);
//   - positional arguments: "too many arguments. Expected 0 arguments but got N.";
//   - a missing value: "option '--x <value>' argument missing";
//   - `-h` or `--help` among the unknown arguments asks for help, which the caller renders.
// test/init/cli/flags.test.ts checks all of this against commander itself, on generated argv.
import { UsageError } from './errors.js';

export interface FlagSpec {
  /** `--name` */
  readonly flag: string;
  readonly value: 'required' | 'optional' | 'none';
}

/** What `--name` is stored under: its camelCase name (commander's attribute name). */
export function flagKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Parsed flags by key (`--inbound-ports` → inboundPorts): the text given, or true for a flag without one. */
export interface FlagValues {
  getOptionValue(key: string): unknown;
}

export type ParsedFlags =
  | { readonly help: true }
  | { readonly help: false; readonly values: ReadonlyMap<string, string | true> };

/** commander's display of an option: `--x <value>`, `--x [bool]` or `--x`. */
export function flagDisplay(spec: FlagSpec): string {
  return spec.value === 'required' ? `${spec.flag} <value>` : spec.value === 'optional' ? `${spec.flag} [bool]` : spec.flag;
}

const looksLikeOption = (arg: string): boolean => arg.length > 1 && arg.startsWith('-');
const negativeNumber = (arg: string): boolean => /^-(\d+|\d*\.\d+)(e[+-]?\d+)?$/.test(arg);

/**
 * Parse `argv` (no command name) against `specs`. `displays` gives an option's text in messages
 * when it is not flagDisplay's. Throws UsageError with commander's message (without "error: ").
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], displays: ReadonlyMap<string, string> = new Map()): ParsedFlags {
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const values = new Map<string, string | true>();
  const operands: string[] = [];
  const unknown: string[] = [];
  let dest = operands;
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i++] as string;
    if (arg === '--') {
      if (dest === unknown) dest.push(arg);
      dest.push(...argv.slice(i));
      break;
    }
    if (looksLikeOption(arg)) {
      const spec = byFlag.get(arg);
      if (spec !== undefined) {
        if (spec.value === 'required') {
          const value = argv[i++];
          if (value === undefined) throw new UsageError(`option '${displays.get(spec.flag) ?? flagDisplay(spec)}' argument missing`);
          values.set(flagKey(spec.flag), value);
        } else if (spec.value === 'optional') {
          const next = argv[i];
          if (next !== undefined && (!looksLikeOption(next) || negativeNumber(next))) {
            values.set(flagKey(spec.flag), next);
            i++;
          } else values.set(flagKey(spec.flag), true);
        } else values.set(flagKey(spec.flag), true);
        continue;
      }
    }
    if (/^--[^=]+=/.test(arg)) {
      const at = arg.indexOf('=');
      const spec = byFlag.get(arg.slice(0, at));
      if (spec !== undefined && spec.value !== 'none') {
        values.set(flagKey(spec.flag), arg.slice(at + 1));
        continue;
      }
    }
    // A negative number is a positional argument of a command without subcommands.
    if (dest === operands && looksLikeOption(arg) && !negativeNumber(arg)) dest = unknown;
    dest.push(arg);
  }
  if (unknown.some((arg) => arg === '-h' || arg === '--help')) return { help: true };
  const first = unknown[0];
  if (first !== undefined) {
    const suggestion = first.startsWith('--') ? suggestSimilar(first, [...specs.map((s) => s.flag), '--help']) : '';
    throw new UsageError(`unknown option '${first}'${suggestion}`);
  }
  if (operands.length > 0) {
    throw new UsageError(`too many arguments. Expected 0 arguments but got ${operands.length}.`);
  }
  return { help: false, values };
}

/** A FlagValues over parsed values (what readCaptureConfig reads). */
export function flagValues(values: ReadonlyMap<string, string | true>): FlagValues {
  return { getOptionValue: (key) => values.get(key) };
}

// Suggestions as commander makes them (its lib/suggestSimilar.js): the known flags within the
// fewest edits (at most 2; optimal string alignment distance), more than 40% alike, sorted.
const maxDistance = 3;

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > maxDistance) return Math.max(a.length, b.length);
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d[i] = [i];
  for (let j = 0; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let j = 1; j <= b.length; j++) {
    for (let i = 1; i <= a.length; i++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

function suggestSimilar(flag: string, candidates: readonly string[]): string {
  const word = flag.slice(2);
  let similar: string[] = [];
  let best = maxDistance;
  for (const candidate of new Set(candidates.map((c) => c.slice(2)))) {
    if (candidate.length <= 1) continue;
    const distance = editDistance(word, candidate);
    const length = Math.max(word.length, candidate.length);
    if ((length - distance) / length > 0.4) {
      if (distance < best) {
        best = distance;
        similar = [candidate];
      } else if (distance === best) similar.push(candidate);
    }
  }
  similar.sort((a, b) => a.localeCompare(b));
  const named = similar.map((c) => `--${c}`);
  if (named.length > 1) return `\n(Did you mean one of ${named.join(', ')}?)`;
  if (named.length === 1) return `\n(Did you mean ${named[0]}?)`;
  return '';
}
