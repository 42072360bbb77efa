// --self-signed: the generated CA and serving certificate are checked for real (openssl verify,
// an HTTPS handshake by service name). The caBundle patch needs a kube-apiserver, which is not
// available here: it is tested against a clearly named fake client that applies the JSON Patch
// to a MutatingWebhookConfiguration document with fast-json-patch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, createServer } from 'node:tls';
import fjp from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { generateSelfSignedCertificates, patchCaBundle } from '../../../injector/webhook/self-signed.js';
import type { WebhookConfigurationClient } from '../../../injector/webhook/self-signed.js';
import { validateCertificatePair } from '../../../injector/webhook/certificates.js';
import { makeTempDir } from './support/tls.js';

test('the generated CA signs a serving certificate for <service>.<namespace>.svc that openssl and TLS accept', async (t) => {
  const generated = await generateSelfSignedCertificates({ service: 'pillion', namespace: 'pillion-system' });
  const ca = new X509Certificate(generated.caPem);
  const leaf = new X509Certificate(generated.certPem);
  assert.ok(ca.ca, 'CA has basicConstraints CA:TRUE');
  assert.ok(!leaf.ca);
  assert.ok(leaf.checkIssued(ca));
  assert.ok(leaf.verify(ca.publicKey));
  assert.equal(leaf.checkHost('pillion.pillion-system.svc'), 'pillion.pillion-system.svc');
  assert.equal(leaf.checkHost('pillion.pillion-system.svc.cluster.local'), 'pillion.pillion-system.svc.cluster.local');
  assert.equal(leaf.checkHost('other.pillion-system.svc'), undefined);
  assert.ok(new Date(leaf.validTo).getTime() > Date.now() + 300 * 86_400_000);
  validateCertificatePair(Buffer.from(generated.certPem), Buffer.from(generated.keyPem), 'generated.crt', 'generated.key');

  const tmp = makeTempDir('self-signed');
  t.after(tmp.remove);
  writeFileSync(join(tmp.dir, 'ca.crt'), generated.caPem);
  writeFileSync(join(tmp.dir, 'tls.crt'), generated.certPem);
  const verify = spawnSync('openssl', ['verify', '-CAfile', join(tmp.dir, 'ca.crt'), '-purpose', 'sslserver', join(tmp.dir, 'tls.crt')], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);

  const server = createServer({ cert: generated.certPem, key: generated.keyPem }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const authorized = await new Promise<boolean>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: generated.caPem, servername: 'pillion.pillion-system.svc' }, () => {
      resolve(socket.authorized);
      socket.end();
    });
    socket.on('error', reject);
  });
  assert.ok(authorized);
});

test('two runs make different CAs and serials', async () => {
  const a = await generateSelfSignedCertificates({ service: 's', namespace: 'n' });
  const b = await generateSelfSignedCertificates({ service: 's', namespace: 'n' });
  assert.notEqual(new X509Certificate(a.caPem).fingerprint256, new X509Certificate(b.caPem).fingerprint256);
  assert.notEqual(new X509Certificate(a.certPem).serialNumber, new X509Certificate(b.certPem).serialNumber);
});

/** FAKE API server client (no kube-apiserver here): holds one configuration and applies patches. */
function fakeWebhookConfigurationClient(document: Record<string, unknown>): WebhookConfigurationClient & { document: Record<string, unknown> } {
  const holder = { document };
  return {
    get document() {
      return holder.document;
    },
    readWebhookNames: (name) => {
      if (name !== (holder.document.metadata as { name: string }).name) return Promise.reject(new Error(`mutatingwebhookconfigurations "${name}" not found`));
      return Promise.resolve((holder.document.webhooks as { name: string }[]).map((w) => w.name));
    },
    applyJsonPatch: (_name, operations) => {
      // validate=true and the `test` operations make a stale patch fail like the API server would.
      holder.document = fjp.applyPatch(structuredClone(holder.document), operations as Operation[], true, false).newDocument;
      return Promise.resolve();
    },
  };
}

test('patchCaBundle sets clientConfig.caBundle on every webhook of the named configuration', async () => {
  const generated = await generateSelfSignedCertificates({ service: 'pillion', namespace: 'pillion-system' });
  const client = fakeWebhookConfigurationClient({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'pillion-injector' },
    webhooks: [
      { name: 'pods.pillion.dev', clientConfig: { service: { name: 'pillion', namespace: 'pillion-system', path: '/inject' } } },
      { name: 'pods-ns.pillion.dev', clientConfig: { service: { name: 'pillion', namespace: 'pillion-system', path: '/inject' }, caBundle: 'b2xk' } },
    ],
  });
  assert.equal(await patchCaBundle(client, 'pillion-injector', generated.caPem), 2);
  for (const webhook of client.document.webhooks as { clientConfig: { caBundle: string } }[]) {
    assert.equal(Buffer.from(webhook.clientConfig.caBundle, 'base64').toString('utf8'), generated.caPem);
  }
  await assert.rejects(patchCaBundle(client, 'missing', generated.caPem), /not found/);
});
