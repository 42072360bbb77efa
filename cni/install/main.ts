#!/usr/bin/env node
// pillion-cni-install: the node agent (DaemonSet entry point) and its uninstall. docs/cni.md,
// "Installer". stdout carries nothing; logs go to stderr.
import { parseArgs } from 'node:util';
import { seaExecutable } from '../build/sea-paths.js';
import { Agent } from './agent.js';
import { daemonSetFate } from './daemonset.js';
import { inClusterServer } from './kubeconfig.js';
import { presetPaths, type PlatformPaths } from './presets.js';
import { uninstall } from './uninstall.js';
import type { ExecMode } from './version-check.js';

const usage = `usage: pillion-cni-install [--uninstall] [--host-root DIR] [--preset default|gke|k3s]
  [--net-dir PATH] [--bin-dir PATH] [--source FILE] [--service-account-dir DIR] [--api-server URL]
  [--exec direct|chroot] [--http-port N|off] [--http-host ADDR] [--ready-file PATH] [--poll-ms N]
  [--daemonset NAMESPACE/NAME] [--on-sigterm check|keep|uninstall] [--exclude-namespaces A,B] [--log-file PATH]`;

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} pillion-cni-install: ${line}\n`);
}

function main(argv: string[]): Promise<number> | number {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      uninstall: { type: 'boolean', default: false },
      'host-root': { type: 'string', default: '/' },
      preset: { type: 'string', default: 'default' },
      'net-dir': { type: 'string' },
      'bin-dir': { type: 'string' },
      source: { type: 'string', default: seaExecutable },
      'service-account-dir': { type: 'string', default: '/var/run/secrets/kubernetes.io/serviceaccount' },
      'api-server': { type: 'string' },
      exec: { type: 'string' },
      'http-port': { type: 'string', default: '15290' },
      'http-host': { type: 'string', default: '127.0.0.1' },
      'ready-file': { type: 'string' },
      'poll-ms': { type: 'string', default: '500' },
      daemonset: { type: 'string' },
      'on-sigterm': { type: 'string' },
      'exclude-namespaces': { type: 'string' },
      'log-file': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stderr.write(`${usage}\n`);
    return 0;
  }
  const preset = presetPaths(values.preset);
  const paths: PlatformPaths = { netDir: values['net-dir'] ?? preset.netDir, binDir: values['bin-dir'] ?? preset.binDir };
  const hostRoot = values['host-root'];
  if (values.uninstall) {
    uninstall({ hostRoot, paths, log });
    return 0;
  }
  const apiServer = values['api-server'] ?? inClusterServer(process.env);
  if (apiServer === undefined) throw new Error('no API server: pass --api-server or run in a pod (KUBERNETES_SERVICE_HOST)');
  const execMode = (values.exec ?? (hostRoot === '/' ? 'direct' : 'chroot')) as ExecMode;
  if (execMode !== 'direct' && execMode !== 'chroot') throw new Error(`--exec must be direct or chroot`);
  const entrySettings: Record<string, unknown> = {};
  if (values['exclude-namespaces'] !== undefined) entrySettings.excludeNamespaces = values['exclude-namespaces'].split(',').filter((n) => n !== '');
  if (values['log-file'] !== undefined) entrySettings.logFile = values['log-file'];
  const agent = new Agent({
    hostRoot,
    paths,
    sourceBinary: values.source,
    execMode,
    serviceAccountDir: values['service-account-dir'],
    apiServer,
    entrySettings,
    pollMs: Number(values['poll-ms']),
    httpPort: values['http-port'] === 'off' ? undefined : Number(values['http-port']),
    httpHost: values['http-host'],
    readyFile: values['ready-file'],
    log,
  });
  const daemonset = values.daemonset;
  const onSigterm = values['on-sigterm'] ?? (daemonset === undefined ? 'keep' : 'check');
  if (!['check', 'keep', 'uninstall'].includes(onSigterm)) throw new Error('--on-sigterm must be check, keep or uninstall');
  if (onSigterm === 'check' && daemonset?.includes('/') !== true) throw new Error('--on-sigterm check needs --daemonset NAMESPACE/NAME');
  return new Promise<number>((resolve, reject) => {
    const shutdown = async (signal: string): Promise<void> => {
      await agent.stop();
      let remove = onSigterm === 'uninstall';
      if (onSigterm === 'check' && daemonset !== undefined) {
        const [namespace = '', name = ''] = daemonset.split('/');
        const fate = await daemonSetFate(apiServer, values['service-account-dir'], namespace, name);
        log(`${signal}: DaemonSet ${daemonset} is ${fate}`);
        remove = fate === 'deleted';
      }
      if (remove) uninstall({ hostRoot, paths, log });
      else log(`${signal}: leaving the plugin in place (upgrade or restart)`);
      resolve(0);
    };
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown(signal).catch(reject));
    agent.start().then(() => log(`watching ${paths.netDir} (host root ${hostRoot})`), reject);
  });
}

try {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
} catch (error) {
  log(`error: ${(error as Error).message}`);
  process.exitCode = 1;
}
