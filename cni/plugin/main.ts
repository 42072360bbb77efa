// The plugin's one entry: read the invocation, run the command, print exactly one thing on
// stdout (the result, the version info, or an error object) and return the exit code.
import { CniError, formatError, specCodes } from '../protocol/errors.js';
import { parseNetworkConfig, readCommand, readEnvironment, type NetworkConfig } from '../protocol/request.js';
import { formatVersionInfo, latestVersion, requireStatusAndGc } from '../protocol/versions.js';
import { runAdd } from './add.js';
import { runCheck } from './check.js';
import { runDel } from './del.js';
import { createLog } from './log.js';

export interface PluginIo {
  /** stdin, read on demand (VERSION does not need it). Throws when it cannot be read. */
  readonly readStdin: () => string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

function describeContext(env: NodeJS.ProcessEnv): string {
  const args = env.CNI_ARGS ?? '';
  const pod = /K8S_POD_NAMESPACE=([^;]*)/.exec(args)?.[1];
  const name = /K8S_POD_NAME=([^;]*)/.exec(args)?.[1];
  const container = (env.CNI_CONTAINERID ?? '').slice(0, 12);
  return `${env.CNI_COMMAND ?? '?'} ${pod !== undefined && name !== undefined ? `${pod}/${name}` : '-'} ${container}`.trim();
}

function readStdinOrFail(io: PluginIo): string {
  try {
    return io.readStdin();
  } catch (error) {
    throw new CniError(specCodes.ioFailure, 'cannot read the network config from stdin', (error as Error).message);
  }
}

export async function runPlugin(env: NodeJS.ProcessEnv, io: PluginIo): Promise<number> {
  const context = describeContext(env);
  let conf: NetworkConfig | undefined;
  let log = createLog(context, undefined, io.stderr);
  try {
    const command = readCommand(env);
    if (command === 'VERSION') {
      io.stdout(formatVersionInfo());
      return 0;
    }
    if (command === 'DEL') return await runDelNeverFailing(env, io);
    /** The config from stdin; from then on, logs go where it says. */
    const readConfig = (): NetworkConfig => {
      conf = parseNetworkConfig(readStdinOrFail(io));
      log = createLog(context, conf.logFile, io.stderr);
      return conf;
    };
    if (command === 'STATUS' || command === 'GC') {
      requireStatusAndGc(readConfig().cniVersion, command);
      // STATUS: ready whenever its configuration is usable. What the plugin can lack (its
      // kubeconfig, the node's iptables tools) fails only CNI-mode pods, each with its own ADD
      // error and the proxy's capture check; a failed STATUS would have the runtime report the
      // whole node's network not ready, stopping every pod.
      // GC: nothing to collect. The plugin keeps no state outside pods' network namespaces, which
      // GC may assume deleted with their rules.
      if (command === 'GC') log('gc: nothing to collect (no state kept outside pods\' namespaces)');
      return 0;
    }
    const invocation = readEnvironment(env);
    const config = readConfig();
    const output = command === 'ADD' ? await runAdd(invocation, config, log) : await runCheck(invocation, config, log);
    io.stdout(output);
    return 0;
  } catch (error) {
    const cniError =
      error instanceof CniError
        ? error
        : new CniError(999, `unexpected failure: ${(error as Error).message}`, (error as Error).stack ?? '');
    log(`failed with code ${cniError.code}: ${cniError.message}${cniError.details === '' ? '' : ` (${cniError.details.split('\n')[0]})`}`);
    io.stdout(formatError(cniError, conf?.cniVersion ?? latestVersion));
    return 1;
  }
}

async function runDelNeverFailing(env: NodeJS.ProcessEnv, io: PluginIo): Promise<number> {
  let log = createLog(describeContext(env), undefined, io.stderr);
  try {
    const invocation = readEnvironment(env);
    let conf: NetworkConfig | undefined;
    try {
      conf = parseNetworkConfig(readStdinOrFail(io));
      log = createLog(describeContext(env), conf.logFile, io.stderr);
    } catch (error) {
      log(`del: network config unusable, cleaning up with defaults: ${(error as Error).message}`);
    }
    await runDel(invocation, conf, log);
  } catch (error) {
    log(`del: ignored: ${(error as Error).message}`);
  }
  return 0;
}
