// The webhook server over real HTTPS on loopback, with a CA made by openssl for each test:
// verification, protocol floor, error answers, certificate rotation under load, config reload.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, renameSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { connect, createServer as createTlsServer } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { startWebhookServer } from '../../../injector/webhook/server.js';
import type { WebhookServer } from '../../../injector/webhook/server.js';
import { unknownNamespaceLookup } from '../../../injector/webhook/namespace-lookup.js';
import type { SetupFiles } from '../../../injector/core/setup.js';
import { bundledTemplatesDir } from '../../../injector/core/templates.js';
import { captureLogs, sendHttps, waitFor } from './support/https-client.js';
import type { HttpsAnswer } from './support/https-client.js';
import { applyPatchTo, buildReview, decodePatch, hasProxy, loadDeploymentPod, podWithAnnotations, readAnswer } from './support/reviews.js';
import { createTestCa, issueServingPair, makeTempDir } from './support/tls.js';
import type { IssuedPair, TestCa } from './support/tls.js';

/**
 * Write a pair the way the kubelet updates a Secret volume: a new timestamped folder, a `..data`
 * symlink swapped atomically by rename, and tls.crt/tls.key symlinks through `..data`.
 */
let secretVersion = 0;
function installSecretVersion(secretDir: string, pair: { certPem: string; keyPem: string }): void {
  mkdirSync(secretDir, { recursive: true });
  const version = `..${Date.now()}_${process.pid}_${secretVersion++}`;
  mkdirSync(join(secretDir, version));
  writeFileSync(join(secretDir, version, 'tls.crt'), pair.certPem);
  writeFileSync(join(secretDir, version, 'tls.key'), pair.keyPem);
  symlinkSync(version, join(secretDir, '..data_tmp'));
  renameSync(join(secretDir, '..data_tmp'), join(secretDir, '..data'));
  for (const file of ['tls.crt', 'tls.key']) {
    if (!existsSync(join(secretDir, file))) symlinkSync(join('..data', file), join(secretDir, file));
  }
}

interface Harness {
  readonly server: WebhookServer;
  readonly ca: TestCa;
  readonly pair: IssuedPair;
  readonly secretDir: string;
  readonly dir: string;
  readonly logs: ReturnType<typeof captureLogs>;
}

async function startHarness(t: TestContext, options: { setupFiles?: (dir: string) => SetupFiles; pollMs?: number; bodyLimit?: number } = {}): Promise<Harness> {
  const tmp = makeTempDir('webhook-https');
  t.after(tmp.remove);
  const ca = createTestCa(tmp.dir);
  const pair = issueServingPair(ca);
  const secretDir = join(tmp.dir, 'secret');
  installSecretVersion(secretDir, pair);
  const logs = captureLogs();
  const server = await startWebhookServer({
    certFile: join(secretDir, 'tls.crt'),
    keyFile: join(secretDir, 'tls.key'),
    port: 0,
    host: '127.0.0.1',
    pollMs: options.pollMs ?? 60_000,
    logger: { level: 'info', stream: logs.stream },
    namespaceLookup: unknownNamespaceLookup,
    ...(options.setupFiles === undefined ? {} : { setupFiles: options.setupFiles(tmp.dir) }),
    ...(options.bodyLimit === undefined ? {} : { bodyLimit: options.bodyLimit }),
  });
  t.after(() => server.close());
  return { server, ca, pair, secretDir, dir: tmp.dir, logs };
}

function post(h: Harness, body: unknown, agent?: Agent): Promise<HttpsAnswer> {
  return sendHttps({ port: h.server.port, ca: h.ca.certPem, body: typeof body === 'string' ? body : JSON.stringify(body), ...(agent ? { agent } : {}) });
}

function tlsHandshake(options: ConnectionOptions): Promise<{ protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = connect(options, () => {
      const protocol = socket.getProtocol();
      socket.end();
      resolve({ protocol });
    });
    socket.on('error', reject);
  });
}

describe('webhook over HTTPS', () => {
  test('an opted-in pod is patched (patch applies, proxy present); a skipped pod gets no patch', async (t) => {
    const h = await startHarness(t);
    const pod = loadDeploymentPod();
    const res = await post(h, buildReview(pod, { uid: 'https-1' }));
    assert.equal(res.status, 200);
    assert.equal(res.fingerprint256, h.pair.fingerprint256);
    const patched = applyPatchTo(pod, decodePatch(readAnswer(res.body, 'https-1')));
    assert.ok(hasProxy(patched));
    const skip = await post(h, buildReview(podWithAnnotations({ 'pillion.dev/inject': 'disabled' }), { uid: 'https-2' }));
    const answer = readAnswer(skip.body, 'https-2');
    assert.equal(answer.allowed, true);
    assert.equal(answer.patch, undefined);
  });

  test('bad requests get their documented answers and the server keeps serving', async (t) => {
    const h = await startHarness(t, { bodyLimit: 256 * 1024 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: h.ca.certPem });
    t.after(() => agent.destroy());
    const oversized = loadDeploymentPod();
    (oversized.metadata as Record<string, unknown>).annotations = { filler: 'y'.repeat(300 * 1024) };
    const cases: [string, string | Buffer, string, number][] = [
      ['malformed JSON', '{"apiVersion":', 'application/json', 400],
      ['wrong apiVersion', JSON.stringify({ ...buildReview(loadDeploymentPod()), apiVersion: 'admission.k8s.io/v1beta1' }), 'application/json', 400],
      ['missing request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 'application/json', 400],
      ['oversized body', JSON.stringify(buildReview(oversized)), 'application/json', 413],
      ['garbage bytes', Buffer.from([0x16, 0x03, 0x01, 0xff, 0x00, 0xfe, 0x7b]), 'application/json', 400],
      ['garbage bytes, no JSON type', Buffer.from([0x00, 0x01, 0xff]), 'application/octet-stream', 415],
    ];
    for (const [name, body, contentType, status] of cases) {
      const res = await sendHttps({ port: h.server.port, ca: h.ca.certPem, body, contentType, agent });
      assert.equal(res.status, status, name);
      const parsed = JSON.parse(res.body) as { statusCode: number; message: string };
      assert.equal(parsed.statusCode, status, name);
      assert.ok(parsed.message.length > 0, name);
      const good = await post(h, buildReview(loadDeploymentPod(), { uid: `after-${status}` }), agent);
      assert.equal(good.status, 200, `good request after ${name}`);
      assert.equal(readAnswer(good.body, `after-${status}`).allowed, true);
    }
  });

  test('the client verifies the server with the test CA; other CAs and wrong names are refused', async (t) => {
    const h = await startHarness(t);
    const ok = await tlsHandshake({ host: '127.0.0.1', port: h.server.port, ca: h.ca.certPem, servername: 'localhost' });
    assert.ok(ok.protocol === 'TLSv1.3' || ok.protocol === 'TLSv1.2');
    const other = makeTempDir('other-ca');
    t.after(other.remove);
    const otherCa = createTestCa(other.dir, 'someone-else');
    await assert.rejects(tlsHandshake({ host: '127.0.0.1', port: h.server.port, ca: otherCa.certPem, servername: 'localhost' }), /unable to verify|self.signed|certificate/i);
    await assert.rejects(
      sendHttps({ port: h.server.port, ca: h.ca.certPem, path: '/healthz', method: 'GET', servername: 'not-the-webhook.example' }),
      (error: NodeJS.ErrnoException) => error.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
    );
  });

  test('TLS 1.1 is refused; TLS 1.2 is accepted', async (t) => {
    const h = await startHarness(t);
    // Control: prove this client can speak TLS 1.1 at all (SECLEVEL=0 re-enables it in OpenSSL 3),
    // so the refusal below is the webhook's doing and not the client's.
    const control = createTlsServer({ cert: h.pair.certPem, key: h.pair.keyPem, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.end());
    await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
    t.after(() => control.close());
    const controlPort = (control.address() as { port: number }).port;
    const old: ConnectionOptions = { host: '127.0.0.1', ca: h.ca.certPem, servername: 'localhost', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' };
    assert.equal((await tlsHandshake({ ...old, port: controlPort })).protocol, 'TLSv1.1');
    await assert.rejects(tlsHandshake({ ...old, port: h.server.port }), /protocol version|unsupported protocol|wrong version/i);
    const v12 = await tlsHandshake({ host: '127.0.0.1', port: h.server.port, ca: h.ca.certPem, servername: 'localhost', maxVersion: 'TLSv1.2' });
    assert.equal(v12.protocol, 'TLSv1.2');
  });

  test('certificate rotation under continuous requests loses none and then serves the new certificate', async (t) => {
    // Polling is off (60 s): only the directory watch can notice the `..data` swap.
    const h = await startHarness(t, { pollMs: 60_000 });
    const next = issueServingPair(h.ca);
    assert.notEqual(next.fingerprint256, h.pair.fingerprint256);
    const agent = new Agent({ keepAlive: true, maxSockets: 4, ca: h.ca.certPem });
    t.after(() => agent.destroy());
    const results: HttpsAnswer[] = [];
    const failures: unknown[] = [];
    let stop = false;
    // Keep-alive loops (like the API server) plus a loop opening a new connection per request,
    // so handshakes happen throughout the swap.
    const loop = async (useAgent: boolean): Promise<void> => {
      let i = 0;
      while (!stop) {
        const uid = `rot-${useAgent ? 'ka' : 'new'}-${i++}`;
        try {
          const res = await sendHttps({ port: h.server.port, ca: h.ca.certPem, body: JSON.stringify(buildReview(loadDeploymentPod(), { uid })), ...(useAgent ? { agent } : {}) });
          if (res.status !== 200 || !readAnswer(res.body, uid).allowed) failures.push(`${uid}: ${res.status}`);
          results.push(res);
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const loops = [loop(true), loop(true), loop(true), loop(false)];
    await waitFor(() => results.length >= 50, 10_000);
    installSecretVersion(h.secretDir, next);
    const switched = await waitFor(() => results.some((r) => !r.reusedSocket && r.fingerprint256 === next.fingerprint256), 10_000);
    const countAtSwitch = results.length;
    await waitFor(() => results.length >= countAtSwitch + 50, 10_000);
    stop = true;
    await Promise.all(loops);
    assert.ok(switched, 'a new connection was served the new certificate');
    assert.deepEqual(failures, [], 'no request failed during the rotation');
    assert.ok(results.length >= 100, `enough requests ran (${results.length})`);
    assert.ok(h.logs.has('serving certificate reloaded'));
    assert.equal(h.server.certificates.current().serialNumber, next.serialNumber);
    const fresh = await sendHttps({ port: h.server.port, ca: h.ca.certPem, path: '/healthz', method: 'GET' });
    assert.equal(fresh.fingerprint256, next.fingerprint256);
  });

  test('a broken new pair is rejected with a log line and the old certificate stays', async (t) => {
    const h = await startHarness(t);
    const other = issueServingPair(h.ca);
    installSecretVersion(h.secretDir, { certPem: other.certPem, keyPem: h.pair.keyPem }); // key does not match
    assert.equal(h.server.certificates.check(), false);
    assert.ok(h.logs.has('new certificate rejected; keeping the current certificate'));
    installSecretVersion(h.secretDir, { certPem: 'not a certificate', keyPem: 'nor a key' });
    assert.equal(h.server.certificates.check(), false);
    const res = await sendHttps({ port: h.server.port, ca: h.ca.certPem, path: '/readyz', method: 'GET' });
    assert.equal(res.status, 200);
    assert.equal(res.fingerprint256, h.pair.fingerprint256);
  });

  test('config reload: a good new config takes effect, a broken one keeps the last good', async (t) => {
    const h = await startHarness(t, {
      pollMs: 200,
      setupFiles: (dir) => {
        const configDir = join(dir, 'config');
        mkdirSync(configDir);
        writeFileSync(join(configDir, 'config.yaml'), 'defaultPolicy: disabled\n');
        cpSync(bundledTemplatesDir, join(dir, 'templates'), { recursive: true });
        return { configFile: join(configDir, 'config.yaml'), templatesDir: join(dir, 'templates') };
      },
    });
    const silentPod = (): unknown => buildReview(podWithAnnotations({}), { uid: 'silent' });
    const injected = async (): Promise<boolean> => readAnswer((await post(h, silentPod())).body, 'silent').patch !== undefined;
    assert.equal(await injected(), false, 'default policy disabled: not injected');

    writeFileSync(join(h.dir, 'config', 'config.yaml'), 'defaultPolicy: enabled\n');
    assert.ok(await waitFor(injected, 10_000), 'good config took effect');
    assert.ok(h.logs.has('injector configuration and templates reloaded'));

    writeFileSync(join(h.dir, 'config', 'config.yaml'), 'defaultPolicy: sometimes\nnoSuchKey: 1\n');
    assert.ok(await waitFor(() => h.logs.has('new configuration rejected; keeping the last good one'), 10_000));
    assert.equal(await injected(), true, 'last good config still in force');
    const rejected = h.logs.lines.find((l) => l.includes('new configuration rejected'));
    assert.match(rejected ?? '', /config\.yaml/);

    // A broken template is rejected the same way.
    writeFileSync(join(h.dir, 'templates', 'envoy.yaml'), 'pod: [not, a, mapping]\n');
    assert.ok(await waitFor(() => h.logs.lines.filter((l) => l.includes('new configuration rejected')).length >= 2, 10_000));
    assert.equal(await injected(), true);
  });

  test('healthz, readyz and metrics over HTTPS', async (t) => {
    const h = await startHarness(t);
    await post(h, buildReview(loadDeploymentPod()));
    const health = await sendHttps({ port: h.server.port, ca: h.ca.certPem, path: '/healthz', method: 'GET' });
    assert.equal(health.status, 200);
    const ready = await sendHttps({ port: h.server.port, ca: h.ca.certPem, path: '/readyz', method: 'GET' });
    assert.equal(ready.status, 200);
    const metrics = await sendHttps({ port: h.server.port, ca: h.ca.certPem, path: '/metrics', method: 'GET' });
    assert.match(metrics.body, /^pillion_injections_total 1$/m);
    assert.match(metrics.body, /^process_resident_memory_bytes \d+/m);
  });
});
