// The pods bench/webhook-load.ts sends (bench/webhook-pods.ts): real manifests' pod templates as
// their controllers make them. The benchmark's "unseen" workload is only unseen if writing a new
// revision over a pod's token makes a review the decision cache has not seen; checked here so that
// a change to the pods or to the cache key cannot turn it silently into a repeat workload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCorpusPods, revisionPlaceholder } from '../../../bench/webhook-pods.js';
import { injectPod } from '../../../injector/core/inject.js';
import { loadSetup } from '../../../injector/core/setup.js';
import { createDecisionCache, readRawReview } from '../../../injector/webhook/decision-cache.js';
import { parsePodAdmission } from '../../../injector/webhook/review.js';
import { buildReview } from './support/reviews.js';

const setup = loadSetup({});
const meshed = { 'pillion.dev/inject': 'enabled' };

test('every workload of the corpus becomes a distinct pod the core decides, injected or skipped', () => {
  const pods = loadCorpusPods();
  assert.ok(pods.length >= 25, `${pods.length} pods`);
  assert.equal(new Set(pods.map((p) => p.source)).size, pods.length, 'no workload twice (the CRLF copy of a file counts once)');
  const kinds = new Set(pods.map((p) => p.kind));
  for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'Job']) assert.ok(kinds.has(kind), kind);
  const decisions = pods.map((p) => {
    const review = parsePodAdmission(JSON.parse(JSON.stringify(buildReview(p.pod, { namespace: p.namespace }))));
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
    const text = JSON.stringify(buildReview(p.pod, { uid: '705ab4f5-6393-11e8-b7cc-000000000000', namespace: p.namespace }));
    const key = (revision: string, uid = '705ab4f5-6393-11e8-b7cc-000000000001'): string => {
      const raw = readRawReview(text.replaceAll(revisionPlaceholder, revision).replace('705ab4f5-6393-11e8-b7cc-000000000000', uid));
      assert.ok(raw !== undefined, `${p.source}: the body is in the API server's field order`);
      return cache.rawKeyOf(setup, meshed, raw.suffix);
    };
    assert.notEqual(key('0000000001'), key('0000000002'), p.source);
    assert.equal(key('0000000001'), key('0000000001', '705ab4f5-6393-11e8-b7cc-0000000000ff'), `${p.source}: only the uid differs`);
  }
});
