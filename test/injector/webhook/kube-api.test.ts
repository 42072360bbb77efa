// The webhook's own API client (kube-api.ts) against a local HTTPS server that records what it is
// asked: in-cluster and kubeconfig credentials, the calls the webhook makes (namespace labels,
// /version, the caBundle JSON Patch), API errors in words, and kubeconfigs handed to client-node.
// (The same calls against a real kube-apiserver: e2e/cluster/webhook-apiserver.test.ts.)
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { readClusterVersion } from '../../../injector/webhook/cluster.js';
import { KubeApiError, loadKubeApi } from '../../../injector/webhook/kube-api.js';
import type { KubeApi, KubeRequest } from '../../../injector/webhook/kube-api.js';
import { createKubeNamespaceLookup, namespaceLookupTimeoutMs } from '../../../injector/webhook/namespace-lookup.js';
import { repoPath } from '../../support/paths.js';
import { createKubeWebhookConfigurationClient, patchCaBundle } from '../../../injector/webhook/self-signed.js';
import { createTestCa, issueServingPair, makeTempDir } from './support/tls.js';
import type { TestCa } from './support/tls.js';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly clientCertificate: string | undefined;
}

interface FakeApiServer {
  readonly port: number;
  readonly ca: TestCa;
  readonly dir: string;
  readonly seen: Seen[];
}

/** Answers: GET /version, namespaces "shop" (labelled) and "secret" (403), one webhook configuration. */
async function startFakeApiServer(t: TestContext): Promise<FakeApiServer> {
  const tmp = makeTempDir('kube-api');
  t.after(tmp.remove);
  const ca = createTestCa(tmp.dir);
  const pair = issueServingPair(ca);
  const seen: Seen[] = [];
  const server = createServer({ cert: pair.certPem, key: pair.keyPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body,
        clientCertificate: peer.subject === undefined ? undefined : String(peer.subject.CN),
      });
      const answer = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      };
      if (req.url === '/version') return answer(200, { major: '1', minor: '37', gitVersion: 'v1.37.2' });
      if (req.url === '/api/v1/namespaces/shop') return answer(200, { kind: 'Namespace', metadata: { name: 'shop', labels: { 'pillion.dev/inject': 'enabled' } } });
      if (req.url === '/api/v1/namespaces/plain') return answer(200, { kind: 'Namespace', metadata: { name: 'plain' } });
      if (req.url === '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pillion-injector') {
        return answer(200, { webhooks: [{ name: 'namespace.inject.pillion.dev' }, { name: 'object.inject.pillion.dev' }] });
      }
      return answer(403, {
        kind: 'Status',
        status: 'Failure',
        reason: 'Forbidden',
        code: 403,
        message: `namespaces "secret" is forbidden: User "system:serviceaccount:pillion-system:pillion-injector" cannot get resource "namespaces"`,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, ca, dir: tmp.dir, seen };
}

function writeKubeconfig(dir: string, name: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'test',
      clusters: [{ name: 'test-cluster', cluster }],
      users: [{ name: 'test-user', user }],
      contexts: [{ name: 'test', context: { cluster: 'test-cluster', user: 'test-user' } }],
    }),
  );
  return file;
}

function mustLoad(env: NodeJS.ProcessEnv, serviceAccountDir?: string): KubeApi {
  const api = loadKubeApi({ env, ...(serviceAccountDir === undefined ? {} : { serviceAccountDir }) });
  assert.ok(api !== undefined);
  return api;
}

test('no service host and no KUBECONFIG: no API server', () => {
  assert.equal(loadKubeApi({ env: {} }), undefined);
  assert.equal(loadKubeApi({ env: { KUBERNETES_SERVICE_HOST: '', KUBECONFIG: '' } }), undefined);
});

test("in a cluster: the service account's CA and token, read at the first request", async (t) => {
  const fake = await startFakeApiServer(t);
  const accountDir = join(fake.dir, 'serviceaccount');
  const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(fake.port) };
  // Loading reads nothing: a pod without a token mounted fails its requests, not its start.
  const early = mustLoad(env, accountDir);
  await assert.rejects(early.request('GET', '/version'), /ca\.crt/);
  mkdirSync(accountDir);
  writeFileSync(join(accountDir, 'ca.crt'), fake.ca.certPem);
  writeFileSync(join(accountDir, 'token'), 'account-token\n');
  const api = mustLoad(env, accountDir);
  assert.equal(await readClusterVersion(api), 'v1.37.2');
  assert.deepEqual(fake.seen.at(-1), {
    method: 'GET', path: '/version', authorization: 'Bearer account-token', contentType: undefined, body: '', clientCertificate: undefined,
  });
});

test('a kubeconfig with a token and a CA file (relative to it): namespace labels, and a 403 in the API server\'s words', async (t) => {
  const fake = await startFakeApiServer(t);
  writeFileSync(join(fake.dir, 'ca.pem'), fake.ca.certPem);
  const file = writeKubeconfig(fake.dir, 'kubeconfig', { server: `https://127.0.0.1:${fake.port}`, 'certificate-authority': 'ca.pem' }, { token: 'kubeconfig-token' });
  const api = mustLoad({ KUBECONFIG: file });
  const warnings: object[] = [];
  const lookup = createKubeNamespaceLookup(api, { warn: (obj) => warnings.push(obj) });
  assert.deepEqual(await lookup.labelsOf('shop'), { 'pillion.dev/inject': 'enabled' });
  assert.deepEqual(await lookup.labelsOf('plain'), {});
  assert.equal(fake.seen[0]?.authorization, 'Bearer kubeconfig-token');
  await assert.rejects(lookup.labelsOf('secret'), /cannot read namespace secret: GET \/api\/v1\/namespaces\/secret: 403 Forbidden: namespaces "secret" is forbidden/);
  assert.equal(warnings.length, 1);
  const error = await api.request('GET', '/api/v1/namespaces/secret').catch((e: unknown) => e);
  assert.ok(error instanceof KubeApiError);
  assert.equal(error.status, 403);
});

test('a kubeconfig with a client certificate and inline CA data; the caBundle patch is a JSON Patch', async (t) => {
  const fake = await startFakeApiServer(t);
  const client = issueServingPair(fake.ca, ['pillion-client']);
  const file = writeKubeconfig(
    fake.dir,
    'kubeconfig',
    { server: `https://127.0.0.1:${fake.port}/`, 'certificate-authority-data': Buffer.from(fake.ca.certPem).toString('base64') },
    { 'client-certificate-data': Buffer.from(client.certPem).toString('base64'), 'client-key-data': Buffer.from(client.keyPem).toString('base64') },
  );
  const count = await patchCaBundle(createKubeWebhookConfigurationClient(mustLoad({ KUBECONFIG: file })), 'pillion-injector', 'CA PEM\n');
  assert.equal(count, 2);
  const [read, patch] = fake.seen;
  assert.equal(read?.clientCertificate, 'pillion-client');
  assert.equal(read?.authorization, undefined);
  assert.equal(patch?.method, 'PATCH');
  assert.equal(patch?.path, '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pillion-injector');
  assert.equal(patch?.contentType, 'application/json-patch+json');
  const ops = JSON.parse(patch?.body ?? '') as { op: string; path: string }[];
  assert.deepEqual(ops.map((o) => `${o.op} ${o.path}`), [
    'test /webhooks/0/name', 'add /webhooks/0/clientConfig/caBundle', 'test /webhooks/1/name', 'add /webhooks/1/clientConfig/caBundle',
  ]);
});

test('a kubeconfig tokenFile is read for the requests', async (t) => {
  const fake = await startFakeApiServer(t);
  writeFileSync(join(fake.dir, 'token'), 'from-file\n');
  const file = writeKubeconfig(fake.dir, 'kubeconfig', { server: `https://127.0.0.1:${fake.port}`, 'insecure-skip-tls-verify': true }, { tokenFile: 'token' });
  assert.equal(await readClusterVersion(mustLoad({ KUBECONFIG: file })), 'v1.37.2');
  assert.equal(fake.seen[0]?.authorization, 'Bearer from-file');
});

test('a kubeconfig user with an exec plugin goes through client-node, loaded for it', async (t) => {
  const fake = await startFakeApiServer(t);
  const plugin = join(fake.dir, 'credential-plugin');
  writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'\n`);
  chmodSync(plugin, 0o755);
  const file = writeKubeconfig(
    fake.dir,
    'kubeconfig',
    { server: `https://127.0.0.1:${fake.port}`, 'certificate-authority-data': Buffer.from(fake.ca.certPem).toString('base64') },
    { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } },
  );
  const api = mustLoad({ KUBECONFIG: file });
  // client-node reads KUBECONFIG from the environment itself.
  const saved = process.env.KUBECONFIG;
  process.env.KUBECONFIG = file;
  t.after(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });
  assert.equal(await readClusterVersion(api), 'v1.37.2');
  assert.equal(fake.seen[0]?.authorization, 'Bearer from-exec');
});

test('an unreadable or malformed kubeconfig fails at load, naming the file', (t) => {
  const tmp = makeTempDir('kube-api-bad');
  t.after(tmp.remove);
  assert.throws(() => loadKubeApi({ env: { KUBECONFIG: join(tmp.dir, 'missing') } }), /cannot read the kubeconfig .*missing/);
  const noContext = join(tmp.dir, 'no-context');
  writeFileSync(noContext, 'apiVersion: v1\nkind: Config\nclusters: []\n');
  assert.throws(() => loadKubeApi({ env: { KUBECONFIG: noContext } }), /no-context: no current-context/);
});

test('the namespace GET gives up before the API server gives up on the webhook (timeoutSeconds of every shipped webhook)', async () => {
  const asked: (KubeRequest | undefined)[] = [];
  const lookup = createKubeNamespaceLookup({ request: (_method, _path, options) => (asked.push(options), Promise.resolve({ metadata: { labels: {} } })) }, { warn: () => undefined });
  await lookup.labelsOf('shop');
  assert.equal(asked[0]?.timeoutMs, namespaceLookupTimeoutMs);
  for (const file of [repoPath('deploy', 'base', 'mutating-webhook.yaml'), repoPath('charts', 'pillion', 'values.yaml')]) {
    const seconds = [...readFileSync(file, 'utf8').matchAll(/^\s*timeoutSeconds: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.ok(seconds.length > 0, file);
    for (const s of seconds) assert.ok(namespaceLookupTimeoutMs + 1000 <= s * 1000, `${file}: timeoutSeconds ${s} leaves the lookup (${namespaceLookupTimeoutMs} ms) no time to answer`);
  }
});
