// A real Kubernetes control plane for e2e tests: upstream etcd and kube-apiserver (built from the
// Go module proxy by scripts/get-kube-apiserver.sh, run by scripts/setup.sh), with a temporary
// data directory and static tokens. By default it listens on the host's loopback and nothing else
// runs: pods are stored, never run — which is all admission needs. With `netns`, both run inside
// that network namespace (the real node of e2e/support/node.ts), listening on `address` there.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { registerExitCleanup } from './exit-cleanup.js';
import { Service } from './process.js';
import { freePort } from '../../test/support/ports.js';
import { skipOrFail } from '../../test/support/privileges.js';
import { inNamespace } from './netns.js';
import { builtPeer } from '../../test/support/peers.js';

/** Directory holding kube-apiserver and etcd; skip with a reason on a laptop, fail under CI=true. */
export function requireControlPlaneBinaries(t: TestContext): string | undefined {
  const found = builtPeer('get-kube-apiserver.sh');
  if (found !== undefined) return found;
  skipOrFail(t, 'needs kube-apiserver and etcd (run scripts/get-kube-apiserver.sh once, about 10 minutes)');
  return undefined;
}


export interface KubectlResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Who a static token authenticates as (the token file's user and groups). */
export interface TokenIdentity {
  readonly user: string;
  readonly groups?: readonly string[];
}

export interface ControlPlaneOptions {
  /** Run etcd, kube-apiserver and every kubectl call inside this network namespace. */
  readonly netns?: string;
  /** The API server's bind and advertise address (default 127.0.0.1, on a free port). */
  readonly address?: string;
  readonly serviceCidr?: string;
  /** Further identities, each with a kubeconfig of its own (see kubeconfigOf). */
  readonly identities?: Readonly<Record<string, TokenIdentity>>;
  /** --allow-privileged=true off a node too (a node always has it), as kubeadm's clusters run. */
  readonly allowPrivileged?: boolean;
}

export interface ControlPlane {
  /** The API server's URL. */
  readonly server: string;
  /** The CA file that verifies the API server (its self-signed serving certificate). */
  readonly caFile: string;
  /** kubeconfig of an identity named in options.identities. */
  kubeconfigOf(name: string): string;
  /** Work directory (data, certificates, kubeconfigs); removed by stop(). */
  readonly dir: string;
  /** kubeconfig of the system:masters admin. */
  readonly adminKubeconfig: string;
  /** Run kubectl against this API server (argv, no shell); `input` goes to its stdin. */
  kubectl(args: readonly string[], options?: { input?: string; kubeconfig?: string }): KubectlResult;
  /** kubectl that must succeed; returns stdout. */
  kubectlOk(args: readonly string[], options?: { input?: string; kubeconfig?: string }): string;
  /** A kubeconfig file that authenticates with `token` (e.g. a service account's). */
  writeKubeconfig(name: string, token: string): string;
  /**
   * Apply these service accounts and their namespaces. No controller manager runs beside this API
   * server, and a pod is admitted only with its service account present.
   */
  createServiceAccounts(accounts: Iterable<{ readonly namespace: string; readonly name: string }>): void;
  /** API server first (it drains against etcd), then etcd; then the directory. Safe to call twice. */
  stop(): Promise<void>;
}

function kubeconfigText(server: string, caFile: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'e2e',
    clusters: [{ name: 'e2e', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: 'e2e', user: { token } }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'e2e' } }],
  });
}

export async function startControlPlane(binDir: string, kubectlBin: string, options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-e2e-apiserver-'));
  const inNs = (argv: readonly string[]): string[] => (options.netns === undefined ? [...argv] : inNamespace(options.netns, argv));
  const unregisterDir = registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const services: Service[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // etcd stopped first leaves the API server retrying for tens of seconds; the reverse is quick.
    for (const service of [...services].reverse()) await service.stop();
    rmSync(dir, { recursive: true, force: true });
    unregisterDir();
  };
  try {
    // Inside a namespace of our own every port is free; on the host, ask for free ones.
    const [etcdClient, etcdPeer, apiPort] = options.netns === undefined ? [await freePort(), await freePort(), await freePort()] : [2379, 2380, 6443];
    const address = options.address ?? '127.0.0.1';
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    services.push(
      await Service.start('etcd', inNs([join(binDir, 'etcd'), '--name=e2e', `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`, `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`, `--initial-cluster=e2e=${peerUrl}`, '--unsafe-no-fsync'])),
    );

    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    writeFileSync(join(dir, 'sa.key'), privateKey, { mode: 0o600 });
    writeFileSync(join(dir, 'sa.pub'), publicKey);
    const identities: Record<string, TokenIdentity> = { admin: { user: 'e2e-admin', groups: ['system:masters'] }, ...options.identities };
    const tokens = new Map(Object.keys(identities).map((name) => [name, randomBytes(24).toString('hex')]));
    const tokenLines = Object.entries(identities).map(([name, who]) =>
      `${tokens.get(name)},${who.user},${who.user}${who.groups === undefined ? '' : `,"${who.groups.join(',')}"`}\n`);
    writeFileSync(join(dir, 'tokens.csv'), tokenLines.join(''), { mode: 0o600 });
    const certDir = join(dir, 'certs');
    services.push(
      await Service.start('kube-apiserver', inNs([join(binDir, 'kube-apiserver'), `--etcd-servers=${etcdUrl}`,
        `--bind-address=${address}`, `--advertise-address=${address}`, `--secure-port=${apiPort}`, `--cert-dir=${certDir}`,
        '--service-account-issuer=https://kubernetes.default.svc', `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`, `--token-auth-file=${join(dir, 'tokens.csv')}`,
        ...(options.netns === undefined
          ? ['--authorization-mode=RBAC', '--endpoint-reconciler-type=none', ...(options.allowPrivileged === true ? ['--allow-privileged=true'] : [])]
          // A node: kubelets are authorised by the Node authorizer, and the kubernetes Service's
          // endpoint is kept by the API server so that pods reach it.
          // Kubelets are reached by address (there is no DNS here).
          : ['--authorization-mode=Node,RBAC', '--allow-privileged=true', '--kubelet-preferred-address-types=InternalIP']),
        `--service-cluster-ip-range=${options.serviceCidr ?? '10.0.0.0/24'}`])),
    );

    const server = `https://${address}:${apiPort}`;
    // The API server writes its self-signed serving certificate here at start-up.
    const caFile = join(certDir, 'apiserver.crt');
    const writeKubeconfig = (name: string, token: string): string => {
      const file = join(dir, `${name}.kubeconfig`);
      writeFileSync(file, kubeconfigText(server, caFile, token), { mode: 0o600 });
      return file;
    };
    for (const [name, token] of tokens) writeKubeconfig(name, token);
    const adminKubeconfig = join(dir, 'admin.kubeconfig');
    const kubeconfigOf = (name: string): string => {
      if (!tokens.has(name)) throw new Error(`control plane: no identity named ${name}`);
      return join(dir, `${name}.kubeconfig`);
    };
    const kubectl = (args: readonly string[], callOptions: { input?: string; kubeconfig?: string } = {}): KubectlResult => {
      const [file, ...rest] = inNs([kubectlBin, '--kubeconfig', callOptions.kubeconfig ?? adminKubeconfig, ...args]);
      const result = spawnSync(file!, rest, {
        encoding: 'utf8',
        input: callOptions.input ?? '',
        timeout: 60_000,
      });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    };
    const kubectlOk = (args: readonly string[], options: { input?: string; kubeconfig?: string } = {}): string => {
      const result = kubectl(args, options);
      if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.status}: ${result.stderr.trim()}`);
      return result.stdout;
    };
    const createServiceAccounts = (accounts: Iterable<{ readonly namespace: string; readonly name: string }>): void => {
      const byKey = new Map([...accounts].map((a) => [`${a.namespace}/${a.name}`, a]));
      const namespaces = new Set([...byKey.values()].map((a) => a.namespace));
      const items = [
        ...[...namespaces].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
        ...[...byKey.values()].map(({ namespace, name }) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace, name } })),
      ];
      kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
    };

    // Ready = every readiness check of the API server passes (etcd reachable, bootstrap done).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = kubectl(['get', '--raw', '/readyz']);
      if (ready.status === 0 && ready.stdout.trim() === 'ok') break;
      const apiserver = services[1];
      if (apiserver !== undefined && !apiserver.alive) throw new Error(`kube-apiserver exited: ${apiserver.stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`kube-apiserver not ready within 60 s: ${ready.stderr.trim()} ${apiserver?.stderr.slice(-2000) ?? ''}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return { dir, server, caFile, adminKubeconfig, kubeconfigOf, kubectl, kubectlOk, writeKubeconfig, createServiceAccounts, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
