// The pillion-init command line: parse, run one command, map errors to exit codes.
//   0 success · 1 runtime failure · 2 usage error · 126 verify or validate found capture not working
// stdout carries only data (restore text, explain's answer, verify's and validate's result line);
// logs go to stderr (and validate's failure line, which becomes the container's termination message).
import { applyCapture } from '../apply/apply.js';
import { cleanupCapture } from '../apply/cleanup.js';
import { captureFlags, captureFlagSpecs, cleanupFlagNames, readCaptureConfig } from '../config.js';
import { RuntimeError, UsageError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import { flagDisplay, flagValues, parseFlags, type FlagSpec } from '../flags.js';
import { planCaptureRules } from '../plan/planner.js';
import { renderDryRun } from '../plan/render.js';
// explain, verify and validate (node:net, node:crypto, the probes) are imported by the command
// that uses them: apply, which runs at every pod start, does not pay for their loading.

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export const exitCodes = { ok: 0, runtime: 1, usage: 2, verifyFailed: 126 } as const;

const commands = ['apply', 'cleanup', 'verify', 'validate', 'explain'] as const;
type CommandName = (typeof commands)[number];

const exitCodeHelp: Partial<Record<CommandName, string>> = {
  verify: '\nExit codes: 0 redirection works; 1 runtime failure (proxy ports in use, no address to probe);\n' +
    '2 usage error; 126 redirection not working (the result line names the direction).\n',
  validate: '\nChecks, as the unprivileged user it runs as, that the pod\'s outbound capture is in place for each\n' +
    'address family the pod has (CNI mode: the plugin installed the rules). Run it before the proxy starts.\n' +
    'Exit codes: 0 capture in place (families without an address are skipped and said so); 1 runtime\n' +
    'failure (the outbound port is in use, or it runs as the proxy\'s uid or gid); 2 usage error;\n' +
    '126 capture missing: one line on stderr names the family.\n' +
    'Like the CNI plugin, it reads its settings from the flags only, never from PILLION_* variables.\n',
};

function splitCommand(argv: readonly string[]): { name: CommandName; rest: string[] } {
  const [first, ...rest] = argv;
  if (first === undefined || first.startsWith('-')) return { name: 'apply', rest: [...argv] };
  if ((commands as readonly string[]).includes(first)) return { name: first as CommandName, rest };
  throw new UsageError(`unknown command '${first}' (expected ${commands.join(', ')})`);
}

interface CommandFlag {
  readonly spec: FlagSpec;
  readonly display: string;
  readonly help: string;
}

const flag = (name: string, value: FlagSpec['value'], placeholder: string | undefined, help: string): CommandFlag => ({
  spec: { flag: name, value },
  display: placeholder === undefined ? name : `${name} ${placeholder}`,
  help,
});

/** A command's flags, in the order its help lists them. */
function commandFlags(name: CommandName): CommandFlag[] {
  const capture = captureFlagSpecs(name === 'cleanup' ? cleanupFlagNames : undefined).map((spec) => ({
    spec,
    display: flagDisplay(spec),
    help: captureFlags.find((f) => f.flag === spec.flag)?.help ?? '',
  }));
  if (name === 'apply') return [...capture, flag('--dry-run', 'none', undefined, 'print the iptables-restore text instead of applying it')];
  if (name === 'explain') {
    return [
      ...capture,
      flag('--to', 'required', '<ip:port>', 'destination of the connection to explain'),
      flag('--uid', 'required', '<n>', 'uid of the connecting process (default 1000: an ordinary app)'),
      flag('--gid', 'required', '<n>', 'gid of the connecting process (default: --uid)'),
      flag('--from', 'required', '<ip>', 'source address'),
      flag('--interface', 'required', '<name>', 'interface the packet arrives on (inbound) or leaves by (outbound)'),
      flag('--inbound', 'none', undefined, 'the connection arrives from outside the pod'),
    ];
  }
  if (name === 'verify' || name === 'validate') return [...capture, flag('--timeout-ms', 'required', '<n>', 'how long each probe waits (default 2000)')];
  return capture;
}

export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo, executor: Executor): Promise<number> {
  const log = (line: string): void => io.stderr(`pillion-init: ${line}\n`);
  try {
    const { name, rest } = splitCommand(argv);
    const flags = commandFlags(name);
    const parsed = parseFlags(rest, flags.map((f) => f.spec), new Map(flags.map((f) => [f.spec.flag, f.display])));
    if (parsed.help) {
      const { renderHelp } = await import('./help.js');
      io.stdout(renderHelp(name, flags, exitCodeHelp[name]));
      return exitCodes.ok;
    }
    const cmd = flagValues(parsed.values);
    const opts = Object.fromEntries(parsed.values) as Record<string, string | boolean | undefined>;

    if (name === 'cleanup') {
      const config = readCaptureConfig(cmd, env);
      await cleanupCapture({ backend: config.backend, ipv6: config.ipv6 }, executor, log);
      return exitCodes.ok;
    }
    // validate checks what the CNI plugin installed, which parses the same flags with an empty
    // environment: PILLION_* variables must not make the two disagree.
    const config = readCaptureConfig(cmd, name === 'validate' ? {} : env);
    if (name === 'apply') {
      if (opts.dryRun === true) {
        const note = config.ipv6 === 'auto' ? ' (applied only when IPv6 is usable: --ipv6 auto)' : '';
        io.stdout(renderDryRun(planCaptureRules(config), note));
        return exitCodes.ok;
      }
      await applyCapture(config, executor, log);
      return exitCodes.ok;
    }
    if (name === 'explain') {
      const { explainConnection, parseExplainQuery } = await import('../explain/explain.js');
      const query = parseExplainQuery(opts);
      const answer = await explainConnection(config, query, executor);
      io.stdout(answer);
      return exitCodes.ok;
    }
    const timeoutText = opts.timeoutMs;
    const timeoutMs = typeof timeoutText === 'string' ? Number(timeoutText) : 2000;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout-ms: "${String(timeoutText)}" is not a positive integer`);
    if (name === 'validate') {
      const { validateCapture } = await import('../verify/validate.js');
      const result = await validateCapture(config, executor, log, timeoutMs);
      if (result.ok) io.stdout(`validate: ok: ${result.detail}\n`);
      else io.stderr(`pillion-init validate: ${result.detail}\n`);
      return result.ok ? exitCodes.ok : exitCodes.verifyFailed;
    }
    const { verifyCapture } = await import('../verify/verify.js');
    const result = await verifyCapture(config, executor, log, timeoutMs);
    io.stdout(`${result.line}\n`);
    return result.ok ? exitCodes.ok : exitCodes.verifyFailed;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`pillion-init: ${error.message}\n`);
      return exitCodes.usage;
    }
    if (error instanceof RuntimeError) {
      io.stderr(`pillion-init: ${error.message}\n`);
      return exitCodes.runtime;
    }
    io.stderr(`pillion-init: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return exitCodes.runtime;
  }
}
