// The webhook's decision without HTTP: body text in, outcome out. No fastify, no sockets: the
// transport (app.test.ts, https.test.ts) is tested apart.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createAdmission } from '../../../injector/webhook/admission.js';
import type { AdmissionDeps, ReviewOutcome } from '../../../injector/webhook/admission.js';
import { createDecisionCache } from '../../../injector/webhook/decision-cache.js';
import { unknownNamespaceLookup } from '../../../injector/webhook/namespace-lookup.js';
import { injectPod } from '../../../injector/core/inject.js';
import { loadSetup } from '../../../injector/core/setup.js';
import type { JsonObject } from '../../../injector/core/types.js';
import { buildReview, podWithAnnotations } from './support/reviews.js';

const setup = loadSetup({});
const parseJson = (text: string): Promise<unknown> => Promise.resolve(JSON.parse(text));

function admission(extra: Partial<AdmissionDeps> = {}) {
  return createAdmission({ setup: { current: () => setup }, namespaceLookup: unknownNamespaceLookup, inject: injectPod, cache: createDecisionCache(), ...extra });
}

function answered(outcome: ReviewOutcome): Extract<ReviewOutcome, { kind: 'answered' }> {
  assert.equal(outcome.kind, 'answered', JSON.stringify(outcome));
  return outcome;
}

const optedIn = (): JsonObject => podWithAnnotations({ 'pillion.dev/inject': 'enabled' });

describe('admission decision', () => {
  test('an opted-in pod is injected, with the request it answered and the core report in the log fields', async () => {
    const outcome = answered(await admission().review(JSON.stringify(buildReview(optedIn(), { uid: 'u1' })), parseJson));
    assert.equal(outcome.uid, 'u1');
    assert.equal(outcome.namespace, 'shop');
    assert.equal(outcome.cached, false);
    assert.equal(outcome.verdict.decision, 'injected');
    assert.deepEqual(outcome.verdict.log, { templates: setup.config.defaultTemplates, warnings: 0 });
    assert.deepEqual(outcome.subject, { pod: 'ratings-v1-7d5b8c6f9-*', operation: 'CREATE', dryRun: false });
    const response = JSON.parse(outcome.verdict.encode('u1').toString()) as { response: { uid: string; allowed: boolean; patchType: string } };
    assert.equal(response.response.uid, 'u1');
    assert.equal(response.response.patchType, 'JSONPatch');
  });

  test('a replica is answered from the cache from the third on, without parsing', async () => {
    const decide = admission();
    const pod = optedIn();
    const texts = [1, 2, 3].map((n) => JSON.stringify(buildReview(pod, { uid: `00000000-0000-0000-0000-00000000000${n}` })));
    let parsed = 0;
    const counting = (text: string): Promise<unknown> => (parsed++, parseJson(text));
    const outcomes = [];
    for (const text of texts) outcomes.push(answered(await decide.review(text, counting)));
    assert.deepEqual(outcomes.map((o) => o.cached), [false, false, true]);
    assert.equal(parsed, 2);
    assert.equal(outcomes[2]?.uid, '00000000-0000-0000-0000-000000000003');
  });

  test('a review without an operation is malformed, not a CREATE', async () => {
    const review = buildReview(optedIn(), { uid: 'no-op' });
    delete (review.request as JsonObject).operation;
    const outcome = await admission().review(JSON.stringify(review), parseJson);
    assert.deepEqual(outcome, { kind: 'malformed', uid: 'no-op', message: 'request.operation is missing (CREATE, UPDATE, DELETE or CONNECT)' });
  });

  test('updates are skipped as not-create; a body that is not JSON is the parser\'s to refuse', async () => {
    const update = answered(await admission().review(JSON.stringify(buildReview(optedIn(), { operation: 'UPDATE' })), parseJson));
    assert.equal(update.verdict.decision, 'skipped');
    assert.equal(update.verdict.reason, 'not-create');
    await assert.rejects(admission().review('{', parseJson), SyntaxError);
  });

  test('no setup yet: not ready, after the review was read', async () => {
    const decide = admission({ setup: { current: () => undefined } });
    assert.equal((await decide.review(JSON.stringify(buildReview(optedIn())), parseJson)).kind, 'not-ready');
    assert.equal((await decide.review('{"kind":"AdmissionReview"}', parseJson)).kind, 'malformed');
  });

  test('a pod whose namespace label decides, with the labels unreadable, is an error of kind namespace-lookup', async () => {
    const failing = { labelsOf: () => Promise.reject(new Error('forbidden')) };
    const outcome = answered(await admission({ namespaceLookup: failing }).review(JSON.stringify(buildReview(podWithAnnotations({}))), parseJson));
    assert.equal(outcome.verdict.decision, 'error');
    assert.equal(outcome.verdict.reason, 'namespace-lookup');
    assert.match(String(outcome.verdict.log.reason), /labels of namespace shop .*\(forbidden\)/);
  });

  test('an invalid override annotation is denied, naming the annotation', async () => {
    const pod = podWithAnnotations({ 'pillion.dev/inject': 'enabled', 'pillion.dev/proxy-cpu': 'lots' });
    const outcome = answered(await admission().review(JSON.stringify(buildReview(pod)), parseJson));
    assert.equal(outcome.verdict.decision, 'denied');
    assert.equal(outcome.verdict.reason, 'invalid-annotation');
    assert.equal(outcome.verdict.log.annotation, 'pillion.dev/proxy-cpu');
  });
});
