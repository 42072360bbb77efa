// The decision cache: identical reviews (ReplicaSet replicas) are answered from memory, and
// nothing that could change a decision — pod, namespace labels, operation, setup — is ever
// answered from another review's entry.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { buildInjectorApp } from '../../../injector/webhook/app.js';
import type { InjectFn, InjectorAppDeps } from '../../../injector/webhook/app.js';
import { createDecisionCache, readRawReview, withoutManagedFieldsTimes } from '../../../injector/webhook/decision-cache.js';
import { capturedUid, loadCorpusPods } from '../../../bench/webhook-pods.js';
import type { Verdict } from '../../../injector/webhook/decision-cache.js';
import { allowedAnswer, deniedAnswer, patchedAnswer, prepareReviewResponse } from '../../../injector/webhook/review.js';
import { loadSetup } from '../../../injector/core/setup.js';
import { injectPod } from '../../../injector/core/inject.js';
import type { JsonObject } from '../../../injector/core/types.js';
import { applyPatchTo, buildReview, decodePatch, hasProxy, loadDeploymentPod, podWithAnnotations, readAnswer } from './support/reviews.js';

const setup = loadSetup({});

function makeApp(extra: Partial<InjectorAppDeps> = {}) {
  return buildInjectorApp({ setup: { current: () => setup }, logger: false, ...extra });
}

type App = ReturnType<typeof makeApp>;

async function post(app: App, body: string) {
  return app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'application/json' }, payload: body });
}

async function cacheHits(app: App): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(/^pillion_decision_cache_hits_total (\d+)$/m.exec(text)?.[1]);
}

/** An inject function that counts its calls, so a test sees which answers were computed. */
function countingInject(): { inject: InjectFn; calls: () => number } {
  let calls = 0;
  return { inject: (pod, ctx, s) => (calls++, injectPod(pod, ctx, s)), calls: () => calls };
}

describe('prepareReviewResponse', () => {
  const answers = {
    patched: patchedAnswer('[{"op":"add","path":"/x","value":1}]', ['a "quoted" warning']),
    allowed: allowedAnswer([]),
    denied: deniedAnswer(400, 'pillion.dev/x: bad "value" \\ here'),
    'non-ASCII patch and warning': patchedAnswer('[{"op":"add","path":"/x","value":"é ✓ 😀"}]', ['wärning ✓']),
    // Not an answer the webhook gives; the encoder's edge of no field before the patch.
    'patch alone': { patch: patchedAnswer('[]', []).patch } as unknown as ReturnType<typeof allowedAnswer>,
  };
  for (const [name, answer] of Object.entries(answers)) {
    test(`${name}: the text is exactly the AdmissionReview of the answer with the uid`, () => {
      const encode = prepareReviewResponse(answer);
      for (const uid of ['705ab4f5-6393-11e8-b7cc-42010a800002', 'a"b\\c\u2028d', '']) {
        assert.deepEqual(JSON.parse(encode(uid).toString('utf8')), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...answer } });
      }
      // Each answer is its own buffer: one written to a socket is never changed by the next.
      const first = encode('u1');
      const copy = Buffer.from(first);
      encode('u2-longer-uid');
      assert.ok(first.equals(copy));
    });
  }
});

describe('createDecisionCache', () => {
  const verdict = (n: number): Verdict => ({ decision: 'skipped', reason: `r${n}`, log: {}, subject: {}, encode: () => Buffer.from(String(n)) });

  /** Set twice: the first set of a key only notes it (see the next test). */
  const store = (cache: ReturnType<typeof createDecisionCache>, key: string, v: Verdict): void => {
    cache.set(key, v);
    cache.set(key, v);
  };

  test('a key is stored the second time it is set, so answers that never repeat take no entry', () => {
    const cache = createDecisionCache(4);
    cache.set('once', verdict(1));
    assert.equal(cache.get('once'), undefined);
    assert.equal(cache.size, 0);
    cache.set('once', verdict(1));
    assert.equal(cache.get('once')?.reason, 'r1');
    // The note of keys seen once is bounded (4 x maxEntries): the oldest notes are forgotten.
    cache.set('first', verdict(2));
    for (let i = 0; i < 16; i++) cache.set(`other-${i}`, verdict(3));
    cache.set('first', verdict(2));
    assert.equal(cache.get('first'), undefined, 'the note of "first" was dropped, so this set only noted it again');
    assert.equal(cache.size, 1);
  });

  test('keeps at most maxEntries, dropping the least recently used', () => {
    const cache = createDecisionCache(2);
    store(cache, 'a', verdict(1));
    store(cache, 'b', verdict(2));
    assert.equal(cache.get('a')?.reason, 'r1'); // a is now the most recent
    store(cache, 'c', verdict(3));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b'), undefined, 'b was least recently used');
    assert.equal(cache.get('a')?.reason, 'r1');
    assert.equal(cache.get('c')?.reason, 'r3');
  });

  test('0 entries disables it', () => {
    const cache = createDecisionCache(0);
    store(cache, 'a', verdict(1));
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.size, 0);
  });

  test('keys differ for each input that can change a decision, and for another setup', () => {
    const cache = createDecisionCache();
    const pod = loadDeploymentPod();
    const labels = { a: 'b' };
    const base = { object: pod, namespace: 'shop', operation: 'CREATE', subResource: undefined };
    const key = cache.keyOf(setup, labels, base);
    const other = loadSetup({});
    const suffix = JSON.stringify(pod);
    const variants = [
      cache.keyOf(setup, labels, { ...base, object: podWithAnnotations({ 'pillion.dev/inject': 'disabled' }) }),
      cache.keyOf(setup, labels, { ...base, namespace: 'other' }),
      cache.keyOf(setup, { a: 'c' }, base),
      cache.keyOf(setup, undefined, base),
      cache.keyOf(setup, {}, base),
      cache.keyOf(setup, { 'a:b': '' }, base),
      cache.keyOf(setup, { a: 'b', c: 'd' }, base),
      cache.keyOf(setup, labels, { ...base, operation: 'UPDATE' }),
      cache.keyOf(setup, labels, { ...base, subResource: 'status' }),
      cache.keyOf(other, labels, base),
      cache.rawKeyOf(setup, labels, suffix),
      cache.rawKeyOf(setup, labels, `${suffix} `),
      cache.rawKeyOf(setup, { a: 'c' }, suffix),
      cache.rawKeyOf(other, labels, suffix),
    ];
    assert.equal(new Set([key, ...variants]).size, variants.length + 1, 'all keys distinct');
    assert.equal(cache.keyOf(setup, labels, { ...base, object: loadDeploymentPod() }), key, 'an equal pod gives the same key');
    assert.equal(cache.rawKeyOf(setup, { a: 'b' }, suffix), cache.rawKeyOf(setup, labels, suffix), 'equal text and labels give the same raw key');
    // A raw suffix is a slice of the body: hashed as it is, it gives the key of the same text whole.
    const body = `{"uid":"u1"${suffix}`;
    assert.equal(cache.rawKeyOf(setup, labels, body.slice('{"uid":"u1"'.length)), cache.rawKeyOf(setup, labels, suffix), 'a sliced suffix gives the key of its text');
  });
});

describe('managedFields times', () => {
  // A real kube-apiserver's body (captured from the test peer: bench/fixtures/admission-reviews.json).
  const captured = loadCorpusPods().find((p) => p.kind === 'Deployment' && p.namespace !== 'kube-system' && !p.body.includes('"hostNetwork":true') && p.body.includes('"managedFields":[{"manager"'));
  assert.ok(captured !== undefined, 'a captured Deployment pod with managedFields');
  const body = captured.body;
  const stamp = '"time":"2026-01-01T00:00:00Z"';
  assert.equal(body.split(stamp).length, 2, 'one managedFields entry, stamped once');
  const at = (time: string): string => body.replace(stamp, `"time":"${time}"`);
  // The variants below add annotations in front of the labels: this pod has none of its own.
  assert.ok(!body.includes('"annotations":'), 'the pod has no annotations');

  test('are all that is left out of the key text: the API server\'s stamp, in an entry\'s place only', () => {
    const stripped = withoutManagedFieldsTimes(body);
    assert.equal(stripped, body.replace(stamp, '"time":""'));
    assert.equal(withoutManagedFieldsTimes(at('2026-12-03T14:31:45Z')), stripped);
    // Elsewhere a "time" stays: in an annotation, or in an object not shaped like an entry.
    const annotated = body.replace('"labels":{', '"annotations":{"time":"2026-12-03T14:31:45Z"},"labels":{');
    assert.notEqual(annotated, body);
    assert.equal(withoutManagedFieldsTimes(annotated), annotated.replace(stamp, '"time":""'));
    const otherShape = '{"manager":"m","apiVersion":"v1","time":"2026-12-03T14:31:45Z"}';
    assert.equal(withoutManagedFieldsTimes(otherShape), otherShape);
    const escaped = JSON.stringify({ note: '{"manager":"m","operation":"Update","apiVersion":"v1","time":"2026"}' });
    assert.equal(withoutManagedFieldsTimes(escaped), escaped, 'inside a string the quotes are escaped');
  });

  test('the same text as a global regular expression over the whole body, on generated texts', () => {
    const reference = (text: string): string =>
      text.replace(/(\{"manager":"(?:[^"\\]|\\.)*","operation":"[A-Za-z]+","apiVersion":"(?:[^"\\]|\\.)*","time":")[^"]*"/g, '$1"');
    const head = '{"manager":"m","operation":"Update","apiVersion":"v1","time":"';
    const pieces = [head, head, '{"manager":"', 'm', '\\"', '\\\\', '\\', '\n', '\r', '\u2028', '","operation":"', 'Update', '","apiVersion":"', 'v1', '","time":"', '2026-12-03T14:31:45Z', '"', '}', ',', '{', ':', 'x'];
    let changed = 0;
    fc.assert(fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), (parts) => {
      const text = parts.join('');
      const expected = reference(text);
      if (expected !== text) changed += 1;
      assert.equal(withoutManagedFieldsTimes(text), expected);
    }), { numRuns: 3000 });
    assert.ok(changed > 300, `${changed} generated texts had a time to leave out`);
    for (const p of loadCorpusPods()) assert.equal(withoutManagedFieldsTimes(p.body), reference(p.body), p.source);
  });

  test('replicas created in different seconds share a key; any other difference does not', () => {
    const cache = createDecisionCache();
    const rawKey = (text: string): string => {
      const raw = readRawReview(text);
      assert.ok(raw !== undefined);
      return cache.rawKeyOf(setup, undefined, raw.suffix);
    };
    const parsedKey = (text: string): string => {
      const request = (JSON.parse(text) as { request: JsonObject }).request;
      return cache.keyOf(setup, undefined, { object: request.object as JsonObject, namespace: request.namespace as string, operation: 'CREATE', subResource: undefined });
    };
    for (const key of [rawKey, parsedKey]) {
      assert.equal(key(at('2026-12-03T14:31:45Z')), key(body), 'another second');
      assert.equal(key(at('2027-02-28T23:59:59Z')), key(body), 'another day');
      const others = [
        body.replace('"manager":"kube-controller-manager"', '"manager":"kube-controller-managers"'),
        body.replace('"operation":"Update"', '"operation":"Apply"'),
        body.replace('"labels":{', '"annotations":{"time":"1"},"labels":{'),
        body.replace('"labels":{', '"annotations":{"time":"2"},"labels":{'),
      ];
      const keys = new Set([key(body), ...others.map(key)]);
      assert.equal(keys.size, others.length + 1, 'every other difference gives another key');
    }
    // A time that is not a string (no API server writes one) stays in the key, as deep as it is:
    // the depth check reads it, so two such bodies may be decided differently.
    const nested = (depth: number): string => body.replace(stamp, `"time":${'['.repeat(depth)}${']'.repeat(depth)}`);
    assert.notEqual(parsedKey(nested(70)), parsedKey(nested(1)), 'parsed key: an array time is kept');
    assert.notEqual(parsedKey(nested(1)), parsedKey(body), 'parsed key: an array time is not a string time');
    assert.notEqual(rawKey(nested(70)), rawKey(nested(1)), 'raw key: an array time is kept');
  });

  test('the second replica, a second later, stores the answer and the third is answered from it', async (t) => {
    const counting = countingInject();
    const app = makeApp({ inject: counting.inject, namespaceLookup: { labelsOf: () => Promise.resolve({ 'pillion.dev/inject': 'enabled' }) } });
    t.after(() => app.close());
    const answers = [];
    for (const [i, time] of ['2026-12-03T14:31:45Z', '2026-12-03T14:31:46Z', '2026-12-03T14:31:48Z', '2026-12-03T14:32:01Z'].entries()) {
      const uid = `${capturedUid.slice(0, -1)}${i}`;
      answers.push(readAnswer((await post(app, at(time).replace(capturedUid, uid))).body, uid));
    }
    assert.equal(counting.calls(), 2, 'computed for the first two, which stores it');
    assert.equal(await cacheHits(app), 2);
    assert.ok(answers[0]?.patch !== undefined, 'the pod is injected');
    for (const answer of answers) assert.equal(answer.patch, answers[0]?.patch);
  });
});

describe('readRawReview', () => {
  test('reads uid, request.namespace and the suffix of a body in the API server\'s field order, without parsing', () => {
    const text = JSON.stringify(buildReview(loadDeploymentPod(), { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', namespace: 'shop' }));
    const raw = readRawReview(text);
    assert.equal(raw?.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
    assert.equal(raw?.namespace, 'shop');
    assert.equal(text.endsWith(raw?.suffix ?? '-'), true);
    assert.ok(raw !== undefined && text.length - raw.suffix.length < 120, 'the suffix starts right after the uid');
  });

  test('gives up on any other shape: field order, uid characters', () => {
    const review = buildReview(loadDeploymentPod(), { uid: 'u1' });
    assert.equal(readRawReview(JSON.stringify({ apiVersion: review.apiVersion, kind: review.kind, request: review.request })), undefined);
    assert.equal(readRawReview(JSON.stringify(buildReview(loadDeploymentPod(), { uid: 'u"1' }))), undefined);
    assert.equal(readRawReview(` ${JSON.stringify(review)}`), undefined);
  });
});

describe('POST /inject with the decision cache', () => {
  test('replicas: from the third identical pod on, answers come from the cache with their own uid and the same patch', async (t) => {
    const counting = countingInject();
    const app = makeApp({ inject: counting.inject });
    t.after(() => app.close());
    const pod = loadDeploymentPod();
    const answers = [];
    for (const uid of ['uid-replica-1', 'uid-replica-2', 'uid-replica-3', 'uid-replica-4']) {
      answers.push(readAnswer((await post(app, JSON.stringify(buildReview(pod, { uid })))).body, uid));
    }
    assert.equal(counting.calls(), 2, 'computed for the first two, which stores it');
    assert.equal(await cacheHits(app), 2);
    for (const answer of answers) assert.equal(answer.patch, answers[0]?.patch);
    const last = answers.at(-1);
    assert.ok(last !== undefined && hasProxy(applyPatchTo(pod, decodePatch(last))));
  });

  test('a body in another field order is answered the same way (exact but slower key)', async (t) => {
    const counting = countingInject();
    const app = makeApp({ inject: counting.inject });
    t.after(() => app.close());
    const pod = loadDeploymentPod();
    const apiServerOrder = buildReview(pod, { uid: 'uid-order-1' });
    const reordered = { apiVersion: apiServerOrder.apiVersion, kind: apiServerOrder.kind, request: { ...(apiServerOrder.request as JsonObject), uid: 'uid-order-2' } };
    const answers = [];
    for (const [i, body] of [apiServerOrder, apiServerOrder, reordered, reordered, reordered].entries()) {
      const uid = `uid-order-${i}`;
      answers.push(readAnswer((await post(app, JSON.stringify({ ...body, request: { ...(body.request as JsonObject), uid } }))).body, uid));
    }
    for (const answer of answers) assert.equal(answer.patch, answers[0]?.patch);
    assert.equal(counting.calls(), 4, 'each key form is computed twice (the second stores it), then remembered');
    assert.equal(await cacheHits(app), 1);
  });

  test('a different pod, or the same pod under changed namespace labels, is decided afresh', async (t) => {
    let labels: Record<string, string> = {};
    const counting = countingInject();
    const app = makeApp({ inject: counting.inject, namespaceLookup: { labelsOf: () => Promise.resolve(labels) } });
    t.after(() => app.close());
    const pod = podWithAnnotations({});
    const skipped = readAnswer((await post(app, JSON.stringify(buildReview(pod, { uid: 'u1' })))).body, 'u1');
    assert.equal(skipped.patch, undefined, 'no opt-in yet');
    labels = { 'pillion.dev/inject': 'enabled' };
    const injected = readAnswer((await post(app, JSON.stringify(buildReview(pod, { uid: 'u2' })))).body, 'u2');
    assert.notEqual(injected.patch, undefined, 'namespace label now opts the same pod in');
    const optedOut = readAnswer((await post(app, JSON.stringify(buildReview(podWithAnnotations({ 'pillion.dev/inject': 'disabled' }), { uid: 'u3' })))).body, 'u3');
    assert.equal(optedOut.patch, undefined);
    assert.equal(counting.calls(), 3);
    assert.equal(await cacheHits(app), 0);
  });

  test('a namespace misread from the raw text never stands for the real one (no stale answer after a relabel)', async (t) => {
    // No request.namespace, and a pod label named "namespace" before metadata.namespace: the text
    // reading finds "evil", the decision uses "shop". Only shop's labels may decide.
    const labels: Record<string, Record<string, string>> = { evil: { 'pillion.dev/inject': 'enabled' }, shop: {} };
    const counting = countingInject();
    const app = makeApp({ inject: counting.inject, namespaceLookup: { labelsOf: (ns) => Promise.resolve(labels[ns] ?? {}) } });
    t.after(() => app.close());
    const pod: JsonObject = { apiVersion: 'v1', kind: 'Pod', metadata: { labels: { app: 'web', namespace: 'evil' }, namespace: 'shop', generateName: 'web-' }, spec: loadDeploymentPod().spec };
    const body = (uid: string): string => {
      const review = buildReview(pod, { uid });
      delete (review.request as JsonObject).namespace;
      return JSON.stringify(review);
    };
    assert.equal(readRawReview(body('probe'))?.namespace, 'evil', 'the test body misleads the text reading');
    for (const uid of ['m1', 'm2', 'm3']) {
      assert.equal(readAnswer((await post(app, body(uid))).body, uid).patch, undefined, 'shop does not opt in');
    }
    labels.shop = { 'pillion.dev/inject': 'enabled' };
    assert.notEqual(readAnswer((await post(app, body('m4'))).body, 'm4').patch, undefined, 'relabelled shop opts in at once');
  });

  test('a new setup (templates or config reloaded) is never answered from the old one', async (t) => {
    let current = setup;
    const counting = countingInject();
    const app = buildInjectorApp({ setup: { current: () => current }, logger: false, inject: counting.inject });
    t.after(() => app.close());
    const pod = loadDeploymentPod();
    await post(app, JSON.stringify(buildReview(pod, { uid: 'a' })));
    current = loadSetup({});
    await post(app, JSON.stringify(buildReview(pod, { uid: 'b' })));
    assert.equal(counting.calls(), 2);
  });

  test('invalid annotations are denied every time; internal errors are never remembered', async (t) => {
    let fail = true;
    const app = makeApp({
      inject: (pod, ctx, s) => {
        if (fail) throw new Error('template exploded');
        return injectPod(pod, ctx, s);
      },
    });
    t.after(() => app.close());
    const pod = loadDeploymentPod();
    const broken = readAnswer((await post(app, JSON.stringify(buildReview(pod, { uid: 'e1' })))).body, 'e1');
    assert.equal(broken.allowed, false);
    fail = false;
    const fine = readAnswer((await post(app, JSON.stringify(buildReview(pod, { uid: 'e2' })))).body, 'e2');
    assert.equal(fine.allowed, true, 'the failure was not cached');

    const bad = podWithAnnotations({ 'pillion.dev/inject': 'enabled', 'pillion.dev/proxy-cpu': 'lots' });
    for (const uid of ['d1', 'd2', 'd3']) {
      const denied = readAnswer((await post(app, JSON.stringify(buildReview(bad, { uid })))).body, uid);
      assert.equal(denied.allowed, false);
      assert.match(denied.status?.message ?? '', /pillion\.dev\/proxy-cpu/);
    }
    assert.equal(await cacheHits(app), 1, 'the third denial came from the cache');
  });

  test('--decision-cache 0: every review is computed', async (t) => {
    const counting = countingInject();
    const app = makeApp({ inject: counting.inject, decisionCache: createDecisionCache(0) });
    t.after(() => app.close());
    const pod = loadDeploymentPod();
    for (const uid of ['x1', 'x2', 'x3']) await post(app, JSON.stringify(buildReview(pod, { uid })));
    assert.equal(counting.calls(), 3);
    assert.equal(await cacheHits(app), 0);
  });
});
