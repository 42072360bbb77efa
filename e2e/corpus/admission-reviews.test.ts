// The AdmissionReview bodies bench/webhook-load.ts sends are a real kube-apiserver's: this test has
// the controllers' requests for every corpus workload (bench/webhook-pods.ts) created in a real API
// server, as the controller's service account and field manager, records what the API server sends
// a mutating webhook for each, and compares the bodies (made reproducible) with
// bench/fixtures/admission-reviews.json. UPDATE_GOLDEN=1 rewrites the file.
//
// The webhook here only records and allows: Pillion's own answers are the webhook e2e's concern.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { isPlainObject } from '../../injector/core/json.js';
import { generateSelfSignedCertificates } from '../../injector/webhook/self-signed.js';
import { capturedReviewsFile, corpusWorkloadRequests, formatCapturedReviews, normalizeCapturedBody, requestDigest } from '../../bench/webhook-pods.js';
import type { CapturedReview } from '../../bench/webhook-pods.js';
import { requireKubectl } from '../../test/deploy/support/manifests.js';
import { sharedCorpusDir } from '../../test/support/corpus.js';
import { updateGolden } from '../../test/support/paths.js';
import { skipOrFail } from '../../test/support/privileges.js';
import { requireControlPlaneBinaries, startControlPlane } from '../support/control-plane.js';

/** kubectl without blocking the event loop: the recording webhook runs in this process. */
function kubectlAsync(kubectl: string, kubeconfig: string, args: readonly string[], input: string): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(kubectl, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ ok: error === null, stdout, stderr }));
    child.stdin?.end(input);
  });
}

test('the bench\'s AdmissionReview bodies are what a real kube-apiserver sends for the corpus workloads', { timeout: 600_000 }, async (t) => {
  // The file holds the pods of ../shared/corpus too: without it the set would differ.
  if (!existsSync(sharedCorpusDir)) {
    skipOrFail(t, 'needs ../shared/corpus/manifests (bench/fixtures/admission-reviews.json covers it)');
    return;
  }
  const kubectl = requireKubectl(t);
  if (kubectl === undefined) return;
  const bin = requireControlPlaneBinaries(t);
  if (bin === undefined) return;
  const requests = corpusWorkloadRequests();
  assert.ok(requests.length >= 25, `${requests.length} workloads`);

  const certificates = await generateSelfSignedCertificates({ service: 'localhost', namespace: 'bench' });
  const recorded: string[] = [];
  const webhook = createServer({ cert: certificates.certPem, key: certificates.keyPem, minVersion: 'TLSv1.2' }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      recorded.push(body);
      const uid = (JSON.parse(body) as { request: { uid: string } }).request.uid;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }));
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  t.after(() => webhook.close());
  // Privileged pods (CNI and logging agents) are refused otherwise.
  const cp = await startControlPlane(bin, kubectl, { allowPrivileged: true });
  t.after(() => cp.stop());

  cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'record-pods' },
      webhooks: [{
        name: 'record.bench.pillion.dev',
        clientConfig: { url: `https://localhost:${(webhook.address() as AddressInfo).port}/inject`, caBundle: Buffer.from(certificates.caPem).toString('base64') },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        failurePolicy: 'Fail',
      }],
    }),
  });
  cp.createServiceAccounts(requests.map((r) => {
    const spec = isPlainObject(r.pod.spec) ? r.pod.spec : {};
    return { namespace: r.namespace, name: typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : 'default' };
  }));

  const captured: CapturedReview[] = [];
  for (const request of requests) {
    const before = recorded.length;
    // The controller's identity and field manager: the body's userInfo and managedFields are theirs.
    // The webhook configuration may take a moment to reach the admission plugin: retry until it is called.
    let created: { ok: boolean; stdout: string; stderr: string } | undefined;
    for (let attempt = 0; attempt < 30 && recorded.length === before; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      created = await kubectlAsync(kubectl, cp.adminKubeconfig, ['create', '-f', '-', `--as=${request.creator}`, '--field-manager=kube-controller-manager', '-o', 'name'], JSON.stringify(request.pod));
      if (!created.ok && recorded.length > before) break;
    }
    assert.ok(created?.ok, `${request.source}: the API server refused the controller's pod: ${created?.stderr}`);
    assert.equal(recorded.length, before + 1, `${request.source}: one review recorded`);
    captured.push({ source: request.source, kind: request.kind, namespace: request.namespace, requestDigest: requestDigest(request), body: normalizeCapturedBody(recorded[before] ?? '') });
  }

  const text = formatCapturedReviews(captured);
  if (updateGolden) {
    mkdirSync(dirname(capturedReviewsFile), { recursive: true });
    writeFileSync(capturedReviewsFile, text);
    return;
  }
  assert.ok(existsSync(capturedReviewsFile), 'bench/fixtures/admission-reviews.json is missing; run this test with UPDATE_GOLDEN=1 to create it');
  const kept = JSON.parse(readFileSync(capturedReviewsFile, 'utf8')) as CapturedReview[];
  assert.deepEqual(kept.map((r) => r.source), captured.map((r) => r.source), 'the same workloads (UPDATE_GOLDEN=1 rewrites the file)');
  for (const [i, review] of captured.entries()) assert.equal(kept[i]?.body, review.body, `${review.source}: the body the API server sends now (UPDATE_GOLDEN=1 rewrites the file)`);
  assert.equal(readFileSync(capturedReviewsFile, 'utf8'), text, 'the file as written (UPDATE_GOLDEN=1 rewrites it)');
});
