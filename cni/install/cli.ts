// The one parser and runner behind the node agent's command lines (docs/cni.md, "Installer"):
//   pillion-cni-install [--uninstall] [flags]   the DaemonSet's entry point (cni/install/main.ts)
//   pillion cni install [flags]                 the same agent, from the pillion CLI
//   pillion cni uninstall [--host-root DIR]     the same as pillion-cni-install --uninstall
// stdout carries only --help; logs go to stderr.
//
// Exit codes: 0 the agent stopped on SIGTERM/SIGINT (whether it uninstalled or not), uninstall
// done, --help; 1 it could not start or run (no API server, the HTTP port taken, a file it cannot
// write) or uninstall failed; 2 usage error (unknown flag, bad value, missing --node-name for
// --repair).
import { parseArgs } from 'node:util';
import { seaExecutable } from '../build/sea-paths.js';
import { Agent } from './agent.js';
import { daemonSetFate } from './daemonset.js';
import { KubeApi } from './kube-api.js';
import { inClusterServer } from './kubeconfig.js';
import { createAgentMetrics } from './metrics.js';
import { presetPaths, presets, type PlatformPaths } from './presets.js';
import { kubePodRepairApi, Repairer, repairModes, type RepairMode } from './repair.js';
import { uninstall } from './uninstall.js';
import type { ExecMode } from './version-check.js';

export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

/** How the command line was entered: the standalone bin, or `pillion cni <sub>`. */
export type CniEntry = 'pillion-cni-install' | 'install' | 'uninstall';

export class UsageError extends Error {
  override name = 'UsageError';
}

const pathFlags = `[--host-root DIR] [--preset ${Object.keys(presets).join('|')}] [--net-dir PATH] [--bin-dir PATH]`;
const agentFlags = `[--source FILE] [--service-account-dir DIR] [--api-server URL]
  [--exec direct|chroot] [--chroot DIR] [--http-port N|off] [--http-host ADDR] [--ready-file PATH] [--poll-ms N]
  [--daemonset NAMESPACE/NAME] [--on-sigterm check|keep|uninstall] [--exclude-namespaces A,B] [--log-file PATH]
  [--node-name NAME] [--repair delete|label|off]`;
const exitText = 'Exit codes: 0 stopped by SIGTERM/SIGINT (or --uninstall done, --help); 1 could not start or run, or uninstall failed; 2 usage error.';
const uninstallExitText = 'Exit codes: 0 removed (or nothing was there), --help; 1 uninstall failed; 2 usage error.';

export function usage(entry: CniEntry): string {
  switch (entry) {
    case 'pillion-cni-install':
      return `usage: pillion-cni-install [--uninstall] ${pathFlags}\n  ${agentFlags}\n${exitText}`;
    case 'install':
      return `usage: pillion cni install ${pathFlags}\n  ${agentFlags}\nRuns the node agent (the pillion-cni-node DaemonSet's program) until SIGTERM.\n${exitText}`;
    case 'uninstall':
      return `usage: pillion cni uninstall ${pathFlags}\nRemoves the plugin's entry, executable and files from a node (its root at --host-root).\n${uninstallExitText}`;
  }
}

const pathOptions = {
  'host-root': { type: 'string', default: '/' },
  preset: { type: 'string', default: 'default' },
  'net-dir': { type: 'string' },
  'bin-dir': { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

const agentOptions = {
  ...pathOptions,
  source: { type: 'string', default: seaExecutable },
  'service-account-dir': { type: 'string', default: '/var/run/secrets/kubernetes.io/serviceaccount' },
  'api-server': { type: 'string' },
  exec: { type: 'string' },
  chroot: { type: 'string' },
  'http-port': { type: 'string', default: '15290' },
  'http-host': { type: 'string', default: '127.0.0.1' },
  'ready-file': { type: 'string' },
  'poll-ms': { type: 'string', default: '500' },
  daemonset: { type: 'string' },
  'on-sigterm': { type: 'string' },
  'exclude-namespaces': { type: 'string' },
  'log-file': { type: 'string' },
  'node-name': { type: 'string' },
  repair: { type: 'string' },
} as const;

export interface UninstallRun {
  readonly kind: 'uninstall';
  readonly hostRoot: string;
  readonly paths: PlatformPaths;
}

export interface AgentRun {
  readonly kind: 'agent';
  readonly hostRoot: string;
  readonly paths: PlatformPaths;
  readonly source: string;
  readonly serviceAccountDir: string;
  readonly apiServer: string | undefined;
  readonly execMode: ExecMode;
  readonly chrootDir: string | undefined;
  readonly httpPort: number | undefined;
  readonly httpHost: string;
  readonly readyFile: string | undefined;
  readonly pollMs: number;
  readonly daemonset: { readonly namespace: string; readonly name: string } | undefined;
  readonly onSigterm: 'check' | 'keep' | 'uninstall';
  readonly entrySettings: Record<string, unknown>;
  readonly nodeName: string | undefined;
  readonly repair: RepairMode;
}

export type CniRun = { readonly kind: 'help'; readonly text: string } | UninstallRun | AgentRun;

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  return value as T;
}

function integer(flag: string, value: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`);
  return Number(value);
}

function platformPaths(values: { preset: string; 'net-dir'?: string; 'bin-dir'?: string }): PlatformPaths {
  let preset: PlatformPaths;
  try {
    preset = presetPaths(values.preset);
  } catch (error) {
    throw new UsageError(`--preset: ${(error as Error).message}`);
  }
  return { netDir: values['net-dir'] ?? preset.netDir, binDir: values['bin-dir'] ?? preset.binDir };
}

/** Parses a command line; throws UsageError. `env` supplies NODE_NAME. */
export function parseCniArgs(argv: readonly string[], entry: CniEntry, env: NodeJS.ProcessEnv = process.env): CniRun {
  let parsed;
  try {
    parsed = entry === 'uninstall'
      ? parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: pathOptions })
      : parseArgs({
          args: [...argv],
          strict: true,
          allowPositionals: false,
          options: entry === 'pillion-cni-install' ? { ...agentOptions, uninstall: { type: 'boolean', default: false } } : agentOptions,
        });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  type StringFlag = Exclude<keyof typeof agentOptions, 'help' | 'host-root' | 'preset'>;
  const values = parsed.values as { help: boolean; uninstall?: boolean; 'host-root': string; preset: string } & Partial<Record<StringFlag, string>>;
  if (values.help) return { kind: 'help', text: usage(entry) };
  const paths = platformPaths(values);
  const hostRoot = values['host-root'];
  if (entry === 'uninstall' || values.uninstall === true) return { kind: 'uninstall', hostRoot, paths };

  const execMode = oneOf('exec', values.exec ?? (hostRoot === '/' && values.chroot === undefined ? 'direct' : 'chroot'), ['direct', 'chroot'] as const);
  const daemonsetText = values.daemonset;
  let daemonset: AgentRun['daemonset'];
  if (daemonsetText !== undefined) {
    const [namespace = '', name = '', ...rest] = daemonsetText.split('/');
    if (namespace === '' || name === '' || rest.length > 0) throw new UsageError(`--daemonset must be NAMESPACE/NAME; got ${JSON.stringify(daemonsetText)}`);
    daemonset = { namespace, name };
  }
  const onSigterm = oneOf('on-sigterm', values['on-sigterm'] ?? (daemonset === undefined ? 'keep' : 'check'), ['check', 'keep', 'uninstall'] as const);
  if (onSigterm === 'check' && daemonset === undefined) throw new UsageError('--on-sigterm check needs --daemonset NAMESPACE/NAME');
  const nodeName = values['node-name'] ?? (env.NODE_NAME === '' ? undefined : env.NODE_NAME);
  // Without a node name there is nothing to watch: repair is off unless asked for, and then an error.
  const repair = oneOf('repair', values.repair ?? (nodeName === undefined ? 'off' : 'delete'), repairModes);
  if (repair !== 'off' && nodeName === undefined) throw new UsageError(`--repair ${repair} needs --node-name or NODE_NAME (the downward API's spec.nodeName)`);
  const entrySettings: Record<string, unknown> = {};
  if (values['exclude-namespaces'] !== undefined) entrySettings.excludeNamespaces = values['exclude-namespaces'].split(',').filter((n) => n !== '');
  if (values['log-file'] !== undefined) entrySettings.logFile = values['log-file'];
  const httpPort = values['http-port'] ?? '15290';
  return {
    kind: 'agent',
    hostRoot,
    paths,
    source: values.source ?? seaExecutable,
    serviceAccountDir: values['service-account-dir'] ?? agentOptions['service-account-dir'].default,
    apiServer: values['api-server'],
    execMode,
    chrootDir: values.chroot,
    httpPort: httpPort === 'off' ? undefined : integer('http-port', httpPort, 0, 65535),
    httpHost: values['http-host'] ?? '127.0.0.1',
    readyFile: values['ready-file'],
    pollMs: integer('poll-ms', values['poll-ms'] ?? '500', 10, 3_600_000),
    daemonset,
    onSigterm,
    entrySettings,
    nodeName,
    repair,
  };
}

export interface CniIo {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: (text: string) => void;
  readonly log?: (line: string) => void;
}

function defaultLog(line: string): void {
  process.stderr.write(`${new Date().toISOString()} pillion-cni-install: ${line}\n`);
}

/** Runs the agent until SIGTERM/SIGINT; resolves with the exit code. */
async function runAgent(run: AgentRun, log: (line: string) => void, env: NodeJS.ProcessEnv): Promise<number> {
  const apiServer = run.apiServer ?? inClusterServer(env);
  if (apiServer === undefined) {
    log('error: no API server: pass --api-server or run in a pod (KUBERNETES_SERVICE_HOST)');
    return exitCodes.failed;
  }
  let repairer: Repairer | undefined;
  const metrics = createAgentMetrics();
  const agent = new Agent({
    hostRoot: run.hostRoot,
    paths: run.paths,
    sourceBinary: run.source,
    execMode: run.execMode,
    chrootDir: run.chrootDir,
    serviceAccountDir: run.serviceAccountDir,
    apiServer,
    entrySettings: run.entrySettings,
    pollMs: run.pollMs,
    httpPort: run.httpPort,
    httpHost: run.httpHost,
    readyFile: run.readyFile,
    onReadyChange: () => repairer?.readinessChanged(),
    metrics,
    log,
  });
  if (run.repair !== 'off' && run.nodeName !== undefined) {
    repairer = new Repairer({
      mode: run.repair,
      nodeName: run.nodeName,
      api: kubePodRepairApi(new KubeApi({ server: apiServer, serviceAccountDir: run.serviceAccountDir })),
      isReady: () => agent.status.ready,
      log,
      metrics,
    });
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      await Promise.all([agent.stop(), repairer?.stop()]);
      let remove = run.onSigterm === 'uninstall';
      if (run.onSigterm === 'check' && run.daemonset !== undefined) {
        const { namespace, name } = run.daemonset;
        const fate = await daemonSetFate(apiServer, run.serviceAccountDir, namespace, name);
        log(`${signal}: DaemonSet ${namespace}/${name} is ${fate}`);
        remove = fate === 'deleted';
      }
      if (remove) uninstall({ hostRoot: run.hostRoot, paths: run.paths, log });
      else log(`${signal}: leaving the plugin in place (upgrade or restart)`);
      resolve(exitCodes.ok);
    };
    const fail = (error: unknown): void => {
      log(`error: ${(error as Error).message}`);
      void Promise.all([agent.stop(), repairer?.stop()]).finally(() => resolve(exitCodes.failed));
    };
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown(signal).catch(fail));
    agent.start().then(() => {
      log(`watching ${run.paths.netDir} (host root ${run.hostRoot}); repair of early pods: ${run.repair}${run.nodeName === undefined ? '' : ` on node ${run.nodeName}`}`);
      repairer?.start();
    }, fail);
  });
}

/** Parses and runs a command line; resolves with the exit code. */
export async function runCni(argv: readonly string[], entry: CniEntry, io: CniIo = {}): Promise<number> {
  const log = io.log ?? defaultLog;
  const env = io.env ?? process.env;
  let run: CniRun;
  try {
    run = parseCniArgs(argv, entry, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    log(`error: ${error.message}`);
    process.stderr.write(`${usage(entry)}\n`);
    return exitCodes.usage;
  }
  switch (run.kind) {
    case 'help':
      (io.stdout ?? ((text) => process.stdout.write(text)))(`${run.text}\n`);
      return exitCodes.ok;
    case 'uninstall':
      try {
        uninstall({ hostRoot: run.hostRoot, paths: run.paths, log });
        return exitCodes.ok;
      } catch (error) {
        log(`error: uninstall failed: ${(error as Error).message}`);
        return exitCodes.failed;
      }
    case 'agent':
      return runAgent(run, log, env);
  }
}
