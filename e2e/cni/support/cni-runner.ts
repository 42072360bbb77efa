// Running a CNI plugin exactly as a runtime does: parameters in the environment (and nothing
// else from ours), the network config on stdin, the result or error object read from stdout.
import { runCommand, type RunResult } from '../../support/netns.js';

export interface CniCall {
  readonly command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION';
  /** The plugin's argv (e.g. ['ip', 'netns', 'exec', NODE, '/usr/lib/cni/bridge']). */
  readonly argv: readonly string[];
  /** Network config as sent on stdin; a string is sent verbatim (for malformed-input cases). */
  readonly config: Record<string, unknown> | string;
  readonly netns?: string;
  readonly containerId?: string;
  readonly ifname?: string;
  /** CNI_ARGS pairs. */
  readonly args?: Readonly<Record<string, string>>;
  /** PATH of the plugin's environment; the default carries the system tools. */
  readonly path?: string;
  /** More variables (or overrides, e.g. removing one by setting it to ''). */
  readonly extraEnv?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface CniOutcome extends RunResult {
  /** stdout parsed; undefined when it is empty. Throws when stdout is not exactly one JSON value. */
  readonly json: Record<string, unknown> | undefined;
}

export const systemPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export async function runCni(call: CniCall): Promise<CniOutcome> {
  const env: Record<string, string> = {
    PATH: call.path ?? systemPath,
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId ?? 'e2e-container',
    CNI_IFNAME: call.ifname ?? 'eth0',
    CNI_PATH: '/usr/lib/cni',
    ...(call.netns === undefined ? {} : { CNI_NETNS: call.netns }),
    ...(call.args === undefined ? {} : { CNI_ARGS: Object.entries(call.args).map(([k, v]) => `${k}=${v}`).join(';') }),
    ...call.extraEnv,
  };
  for (const [key, value] of Object.entries(env)) if (value === '') delete env[key];
  const input = typeof call.config === 'string' ? call.config : JSON.stringify(call.config);
  const result = await runCommand(call.argv, { input, env, timeoutMs: call.timeoutMs ?? 30_000 });
  const text = result.stdout.trim();
  let json: Record<string, unknown> | undefined;
  if (text !== '') {
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error(`${call.argv.join(' ')} ${call.command}: stdout is not one JSON value:\n${result.stdout}\nstderr:\n${result.stderr}`);
    }
  }
  return { ...result, json };
}

/** For assertion messages. */
export function describeOutcome(what: string, outcome: RunResult): string {
  return `${what}: exit ${outcome.exitCode}\nstdout: ${outcome.stdout}\nstderr: ${outcome.stderr}`;
}
