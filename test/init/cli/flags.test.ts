// init/flags.ts reads argv exactly as commander did before it replaced it on pillion-init's path
// (issue 11): the same values, help requests and error messages, checked against commander itself
// on generated command lines, for the capture flags alone (parseCaptureConfig) and for each
// command's flags (pillion-init apply, cleanup, explain, verify/validate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError, Option } from 'commander';
import fc from 'fast-check';
import { captureFlagSpecs, cleanupFlagNames } from '../../../init/config.js';
import { flagDisplay, parseFlags, type FlagSpec } from '../../../init/flags.js';
import { UsageError } from '../../../init/errors.js';

type Outcome = { help: true } | { error: string } | { values: Record<string, unknown> };

/** commander as pillion-init configured it: throw instead of exiting, no output, no excess arguments. */
function viaCommander(argv: readonly string[], flags: readonly { spec: FlagSpec; display: string }[]): Outcome {
  const cmd = new Command('pillion-init')
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined })
    .allowExcessArguments(false);
  for (const f of flags) cmd.addOption(new Option(f.display));
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === 'commander.helpDisplayed') return { help: true };
    return { error: error.message.replace(/^error: /, '') };
  }
  return { values: { ...cmd.opts() } };
}

function viaFlags(argv: readonly string[], flags: readonly { spec: FlagSpec; display: string }[]): Outcome {
  try {
    const parsed = parseFlags(argv, flags.map((f) => f.spec), new Map(flags.map((f) => [f.spec.flag, f.display])));
    return parsed.help ? { help: true } : { values: Object.fromEntries(parsed.values) };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { error: error.message };
  }
}

const capture = (only?: readonly string[]): { spec: FlagSpec; display: string }[] => captureFlagSpecs(only).map((spec) => ({ spec, display: flagDisplay(spec) }));
const extra = (flag: string, value: FlagSpec['value'], placeholder?: string): { spec: FlagSpec; display: string } => ({
  spec: { flag, value },
  display: placeholder === undefined ? flag : `${flag} ${placeholder}`,
});

const commands: Record<string, { spec: FlagSpec; display: string }[]> = {
  capture: capture(),
  apply: [...capture(), extra('--dry-run', 'none')],
  cleanup: capture(cleanupFlagNames),
  explain: [...capture(), extra('--to', 'required', '<ip:port>'), extra('--uid', 'required', '<n>'), extra('--inbound', 'none')],
  verify: [...capture(), extra('--timeout-ms', 'required', '<n>')],
};

const words = [
  '--', '-', '-h', '--help', '-x', '--x', '-5', '-1.5', '-1e3', 'value', '80', '', 'true', 'false', '-abc', '--=x',
  '--inbound-port', '--inbound-ports', '--inbound-portz', '--exclude-inbound', '--ipv', '--ipv6=off', '--dry-run=1', '--redirect-dns',
  '--redirect-dns=', '--redirect-dns=no', '--backend', '--backend=nft', '--dryrun', '--to', '--to=1.2.3.4:5', '--tomeout-ms', '--timeout-ms',
  '--help=1', '--proxy-uid', '--proxy-gid=7', '--uid', '--inbound', '--dns-port',
];

for (const [name, flags] of Object.entries(commands)) {
  test(`parseFlags reads ${name}'s flags as commander does`, () => {
    const token = fc.oneof(fc.constantFrom(...words), fc.constantFrom(...flags.map((f) => f.spec.flag)), fc.string({ maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(token, { maxLength: 7 }), (argv) => {
        assert.deepEqual(viaFlags(argv, flags), viaCommander(argv, flags), JSON.stringify(argv));
      }),
      { numRuns: 3000 },
    );
  });
}

test('examples: values, help, and commander\'s messages', () => {
  const flags = commands.apply as { spec: FlagSpec; display: string }[];
  assert.deepEqual(viaFlags(['--inbound-ports', '--dry-run', '--redirect-dns', '-5', '--dry-run'], flags), { values: { inboundPorts: '--dry-run', redirectDns: '-5', dryRun: true } });
  assert.deepEqual(viaFlags(['--nope', '--help'], flags), { help: true });
  assert.deepEqual(viaFlags(['--inbound-port'], flags), { error: "option '--inbound-port <value>' argument missing" });
  assert.deepEqual(viaFlags(['--inbound-portz', '1'], flags), { error: "unknown option '--inbound-portz'\n(Did you mean one of --inbound-port, --inbound-ports?)" });
  assert.deepEqual(viaFlags(['x', 'y'], flags), { error: 'too many arguments. Expected 0 arguments but got 2.' });
});
