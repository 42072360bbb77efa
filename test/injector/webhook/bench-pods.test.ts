// The pods bench/webhook-load.ts sends (bench/webhook-pods.ts): the bodies a real kube-apiserver
// sent for real manifests' pods as their controllers create them (captured by
// e2e/corpus/admission-reviews.test.ts). The benchmark's "unseen" workload is only unseen if
// writing a new revision over a pod's token makes a review the decision cache has not seen; checked
// here so that a change to the pods or to the cache key cannot turn it silently into a repeat
// workload. The captured file must also belong to today's corpus and controller requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { capturedUid, corpusWorkloadRequests, loadCapturedReviews, loadCorpusPods, requestDigest, revisionPlaceholder } from '../../../bench/webhook-pods.js';
import { injectPod } from '../../../injector/core/inject.js';
import { loadSetup } from '../../../injector/core/setup.js';
import { createDecisionCache, readRawReview } from '../../../injector/webhook/decision-cache.js';
import { parsePodAdmission } from '../../../injector/webhook/review.js';
import { sharedCorpusDir } from '../../support/corpus.js';

const setup = loadSetup({});
const meshed = { 'pillion.dev/inject': 'enabled' };
const recapture = 'recapture with UPDATE_GOLDEN=1 node --test dist/e2e/corpus/admission-reviews.test.js (needs the kube-apiserver peer)';

test('the captured bodies are those of today\'s corpus workloads and controller requests', () => {
  const captured = new Map(loadCapturedReviews().map((r) => [r.source, r.requestDigest]));
  const requests = corpusWorkloadRequests();
  for (const request of requests) assert.equal(captured.get(request.source), requestDigest(request), `${request.source}: ${recapture}`);
  // Without ../shared/corpus here, the file still holds its workloads: only those present are compared.
  if (existsSync(sharedCorpusDir)) assert.equal(captured.size, requests.length, `workloads no longer in the corpus: ${recapture}`);
});

test('every captured body is a Pod CREATE the core decides, injected or skipped', () => {
  const pods = loadCorpusPods();
  assert.ok(pods.length >= 25, `${pods.length} pods`);
  assert.equal(new Set(pods.map((p) => p.source)).size, pods.length, 'no workload twice (the CRLF copy of a file counts once)');
  const kinds = new Set(pods.map((p) => p.kind));
  for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'Job']) assert.ok(kinds.has(kind), kind);
  const decisions = pods.map((p) => {
    const review = parsePodAdmission(JSON.parse(p.body));
    assert.equal(review.uid, capturedUid, p.source);
    assert.equal(review.operation, 'CREATE', p.source);
    assert.equal(review.namespace, p.namespace, p.source);
    const result = injectPod(review.object ?? {}, { namespace: p.namespace, namespaceLabels: meshed, mode: 'policy' }, setup);
    return result.kind;
  });
  assert.ok(decisions.filter((d) => d === 'injected').length >= pods.length * 0.75, 'most are injected');
  assert.ok(decisions.includes('skipped'), 'some are skipped (system namespace, host network)');
});

test('a new revision written over the token makes a review the decision cache has not seen; the same revision repeats', () => {
  const cache = createDecisionCache();
  for (const p of loadCorpusPods()) {
    assert.ok(p.revisionSlots > 0, p.source);
    const key = (revision: string, uid = '705ab4f5-6393-11e8-b7cc-000000000001'): string => {
      const raw = readRawReview(p.body.replaceAll(revisionPlaceholder, revision).replace(capturedUid, uid));
      assert.ok(raw !== undefined, `${p.source}: the body is in the API server's field order`);
      return cache.rawKeyOf(setup, meshed, raw.suffix);
    };
    assert.notEqual(key('0000000001'), key('0000000002'), p.source);
    assert.equal(key('0000000001'), key('0000000001', '705ab4f5-6393-11e8-b7cc-0000000000ff'), `${p.source}: only the uid differs`);
  }
});
