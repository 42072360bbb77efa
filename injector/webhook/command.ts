// `pillion webhook`: flags, start-up, signals. Exit codes: 0 after a graceful shutdown,
// 1 when start-up fails (unreadable/invalid certificates, config or templates; port in use;
// --self-signed could not patch the caBundle), 2 for flag errors.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { parsePort } from '../../init/index.js';
import { defaultBodyLimit, defaultDecisionCacheEntries, defaultPort } from './defaults.js';
import type { KubeApi } from './kube-api.js';
import type { WebhookConfigurationClient } from './self-signed.js';
import type { WebhookServer } from './server.js';

export const exitCodes = { ok: 0, startFailed: 1, usage: 2 } as const;

interface WebhookFlags {
  cert?: string;
  key?: string;
  port: number;
  host: string;
  config?: string;
  templates?: string;
  values?: string;
  selfSigned?: boolean;
  webhookConfigName?: string;
  service?: string;
  namespace?: string;
  bodyLimit: number;
  decisionCache: number;
  pollInterval: number;
  logLevel: string;
}

function parsePortFlag(text: string): number {
  if (text === '0') return 0; // any free port; the chosen one is logged
  try {
    return parsePort(text);
  } catch (error) {
    // commander's InvalidArgumentError takes a message only; the cause is kept all the same.
    throw Object.assign(new InvalidArgumentError((error as Error).message), { cause: error });
  }
}

function parseCount(text: string): number {
  if (!/^(0|[1-9][0-9]{0,6})$/.test(text)) throw new InvalidArgumentError(`expected a whole number from 0 to 9999999, got "${text}"`);
  return Number(text);
}

function parsePositiveInt(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw new InvalidArgumentError(`expected a positive integer, got "${text}"`);
  return Number(text);
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
function parseLogLevel(text: string): string {
  if (!logLevels.includes(text)) throw new InvalidArgumentError(`expected one of ${logLevels.join(', ')}`);
  return text;
}

/** Test seam: the caBundle client (a real API server is not available in every environment). */
export interface WebhookCommandDeps {
  readonly webhookConfigurationClient?: () => WebhookConfigurationClient;
}

export function registerWebhookCommand(program: Command, deps: WebhookCommandDeps = {}): void {
  const command = program
    .command('webhook')
    .description('serve the mutating admission webhook (HTTPS) that injects the proxy into pods')
    .option('--cert <file>', 'serving certificate (PEM); reloaded when it changes')
    .option('--key <file>', 'private key of --cert (PEM); reloaded when it changes')
    .option('--port <port>', 'HTTPS port', parsePortFlag, defaultPort)
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--config <file>', 'injector configuration (YAML); reloaded when it changes')
    .option('--templates <dir>', 'template folder (default: the bundled templates); reloaded when it changes')
    .option('--values <file>', 'values (YAML) merged over the template folder\'s values.yaml')
    .option('--self-signed', 'create a CA and serving certificate at start-up and patch the caBundle')
    .option('--webhook-config-name <name>', 'MutatingWebhookConfiguration whose caBundle --self-signed patches')
    .option('--service <name>', 'Service name in front of the webhook (--self-signed certificate name)')
    .option('--namespace <ns>', 'namespace of that Service (--self-signed certificate name)')
    .option('--body-limit <bytes>', 'largest accepted request body', parsePositiveInt, defaultBodyLimit)
    .option('--decision-cache <entries>', 'identical pods (replicas) remembered for a fast answer; 0 disables', parseCount, defaultDecisionCacheEntries)
    .option('--poll-interval <ms>', 'period of the file-change polling fallback', parsePositiveInt, 10_000)
    .option('--log-level <level>', `log level (${logLevels.join(', ')})`, parseLogLevel, 'info')
    .action(async (flags: WebhookFlags) => {
      await runWebhook(command, flags, deps);
    });
  // Flag errors exit 2 (commander's default is 1); help and version still exit 0.
  command.exitOverride((error) => {
    process.exit(error.exitCode === 0 ? exitCodes.ok : exitCodes.usage);
  });
}

function checkFlags(command: Command, flags: WebhookFlags): void {
  if (flags.selfSigned === true) {
    const missing = (['webhookConfigName', 'service', 'namespace'] as const).filter((k) => flags[k] === undefined);
    if (missing.length > 0) {
      const names = missing.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
      command.error(`error: --self-signed needs ${names.join(', ')}`, { exitCode: exitCodes.usage });
    }
    if ((flags.cert === undefined) !== (flags.key === undefined)) {
      command.error('error: with --self-signed give both --cert and --key (where to write) or neither', { exitCode: exitCodes.usage });
    }
  } else if (flags.cert === undefined || flags.key === undefined) {
    command.error('error: --cert and --key are required (or use --self-signed)', { exitCode: exitCodes.usage });
  }
}

async function runWebhook(command: Command, flags: WebhookFlags, deps: WebhookCommandDeps): Promise<void> {
  checkFlags(command, flags);
  let server: WebhookServer;
  try {
    // Loaded here, not at the top: fastify would slow every other command.
    const { startWebhookServer } = await import('./server.js');
    const { loadKubeApi } = await import('./kube-api.js');
    const { turnBufferedStream } = await import('./log-stream.js');
    // The API server is found once, for the caBundle patch, the version and the namespace lookups.
    const kubeApi = loadKubeApi();
    const files = flags.selfSigned === true ? await prepareSelfSigned(flags, deps, kubeApi) : { certFile: flags.cert ?? '', keyFile: flags.key ?? '' };
    const clusterVersion = await discoverClusterVersion(kubeApi);
    server = await startWebhookServer({
      kubeApi: kubeApi ?? null,
      ...files,
      port: flags.port,
      host: flags.host,
      setupFiles: { configFile: flags.config, templatesDir: flags.templates, valuesFile: flags.values, clusterVersion },
      bodyLimit: flags.bodyLimit,
      decisionCacheEntries: flags.decisionCache,
      pollMs: flags.pollInterval,
      logger: { level: flags.logLevel, stream: turnBufferedStream(process.stderr) },
    });
  } catch (error) {
    process.stderr.write(`pillion webhook: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(exitCodes.startFailed);
  }
  handleSignals(server);
}

/**
 * The version of the API server the webhook runs against, so that `nativeSidecar: auto` needs no
 * kubeVersion in the config. Unknown (auto means off) outside a cluster or when it cannot be read:
 * that is said, and the webhook starts anyway — a regular-container proxy works everywhere.
 */
async function discoverClusterVersion(kubeApi: KubeApi | undefined): Promise<string | undefined> {
  if (kubeApi === undefined) return undefined;
  const { readClusterVersion } = await import('./cluster.js');
  try {
    const version = await readClusterVersion(kubeApi);
    process.stderr.write(`pillion webhook: the API server is ${version}\n`);
    return version;
  } catch (error) {
    process.stderr.write(`pillion webhook: cannot read the API server's version (nativeSidecar auto stays off unless the config sets kubeVersion): ${error instanceof Error ? error.message : String(error)}\n`);
    return undefined;
  }
}

/**
 * SIGTERM (kubelet) or SIGINT: stop accepting, let in-flight reviews finish, exit 0. A second
 * signal while draining exits 1 at once, for an operator who does not want to wait.
 */
function handleSignals(server: WebhookServer): void {
  let draining = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining) {
      server.app.log.warn({ signal }, 'second signal while draining; exiting now');
      process.exit(exitCodes.startFailed);
    }
    draining = true;
    server.app.log.info({ signal }, 'shutting down: finishing in-flight reviews');
    server.close().then(
      () => process.exit(exitCodes.ok),
      (error: unknown) => {
        process.stderr.write(`pillion webhook: error during shutdown: ${String(error)}\n`);
        process.exit(exitCodes.startFailed);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function prepareSelfSigned(flags: WebhookFlags, deps: WebhookCommandDeps, kubeApi: KubeApi | undefined): Promise<{ certFile: string; keyFile: string }> {
  const service = flags.service ?? '';
  const namespace = flags.namespace ?? '';
  // Loaded only here: the X.509 library costs start-up time every other command would pay.
  const { createKubeWebhookConfigurationClient, generateSelfSignedCertificates, patchCaBundle } = await import('./self-signed.js');
  const generated = await generateSelfSignedCertificates({ service, namespace });
  let certFile = flags.cert;
  let keyFile = flags.key;
  if (certFile === undefined || keyFile === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'pillion-webhook-'));
    certFile = join(dir, 'tls.crt');
    keyFile = join(dir, 'tls.key');
  }
  mkdirSync(dirname(certFile), { recursive: true });
  mkdirSync(dirname(keyFile), { recursive: true });
  writeFileSync(keyFile, generated.keyPem, { mode: 0o600 });
  writeFileSync(certFile, generated.certPem);
  const client = (deps.webhookConfigurationClient ?? (() => {
    if (kubeApi === undefined) throw new Error('--self-signed patches the caBundle through the API server: run in a cluster or set KUBECONFIG');
    return createKubeWebhookConfigurationClient(kubeApi);
  }))();
  const name = flags.webhookConfigName ?? '';
  try {
    const count = await patchCaBundle(client, name, generated.caPem);
    process.stderr.write(`pillion webhook: patched caBundle of ${count} webhook(s) in MutatingWebhookConfiguration ${name}\n`);
  } catch (error) {
    throw new Error(`--self-signed: cannot patch the caBundle of MutatingWebhookConfiguration ${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { certFile, keyFile };
}
