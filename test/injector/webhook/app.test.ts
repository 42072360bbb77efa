// The admission app through fastify's app.inject(): every documented answer, metrics, readiness
// and namespace lookup, with the real injection core and the bundled templates.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildInjectorApp } from '../../../injector/webhook/app.js';
import type { InjectFn, InjectorAppDeps } from '../../../injector/webhook/app.js';
import { loadSetup } from '../../../injector/core/setup.js';
import { createCachedNamespaceLookup } from '../../../injector/webhook/namespace-lookup.js';
import type { NamespaceLookup } from '../../../injector/webhook/namespace-lookup.js';
import { parseInjectorConfig } from '../../../injector/core/config.js';
import type { JsonObject } from '../../../injector/core/types.js';
import {
  applyPatchTo,
  buildReview,
  decodePatch,
  hasProxy,
  loadDeploymentPod,
  podWithAnnotations,
  readAnswer,
} from './support/reviews.js';

const setup = loadSetup({});

function makeApp(extra: Partial<InjectorAppDeps> = {}) {
  return buildInjectorApp({ setup: { current: () => setup }, logger: false, ...extra });
}

async function postJson(app: ReturnType<typeof makeApp>, body: unknown) {
  return app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}

describe('POST /inject', () => {
  test('an opted-in pod gets a patch that applies and adds the proxy', async (t) => {
    const app = makeApp();
    t.after(() => app.close());
    const pod = loadDeploymentPod();
    const review = buildReview(pod, { uid: 'uid-inject-1' });
    const res = await postJson(app, review);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const answer = readAnswer(res.body, 'uid-inject-1');
    assert.equal(answer.allowed, true);
    const patched = applyPatchTo(pod, decodePatch(answer));
    assert.ok(hasProxy(patched), 'proxy and pillion-init are in the patched pod');
    assert.ok(!hasProxy(pod), 'input pod untouched');
  });

  test('a pod that does not opt in is allowed with no patch', async (t) => {
    const app = makeApp();
    t.after(() => app.close());
    const res = await postJson(app, buildReview(podWithAnnotations({}), { uid: 'uid-skip' }));
    assert.equal(res.statusCode, 200);
    const answer = readAnswer(res.body, 'uid-skip');
    assert.equal(answer.allowed, true);
    assert.equal(answer.patch, undefined);
    assert.equal(answer.patchType, undefined);
  });

  test('an opted-out pod in an opted-in namespace is skipped; namespace label opts others in', async (t) => {
    const meshed: Record<string, string> = { 'pillion.dev/inject': 'enabled' };
    const labels: NamespaceLookup = { labelsOf: (ns) => Promise.resolve(ns === 'meshed' ? meshed : {}) };
    const app = makeApp({ namespaceLookup: labels });
    t.after(() => app.close());
    const plain = await postJson(app, buildReview(podWithAnnotations({}, 'meshed'), { uid: 'a' }));
    assert.ok(readAnswer(plain.body, 'a').patch !== undefined, 'namespace label opts the pod in');
    const out = await postJson(app, buildReview(podWithAnnotations({ 'pillion.dev/inject': 'disabled' }, 'meshed'), { uid: 'b' }));
    assert.equal(readAnswer(out.body, 'b').patch, undefined);
    const elsewhere = await postJson(app, buildReview(podWithAnnotations({}, 'other'), { uid: 'c' }));
    assert.equal(readAnswer(elsewhere.body, 'c').patch, undefined);
  });

  test('kube-system pods are never injected', async (t) => {
    const app = makeApp();
    t.after(() => app.close());
    const res = await postJson(app, buildReview(podWithAnnotations({ 'pillion.dev/inject': 'enabled' }, 'kube-system'), { uid: 'ks' }));
    const answer = readAnswer(res.body, 'ks');
    assert.equal(answer.allowed, true);
    assert.equal(answer.patch, undefined);
  });

  test('UPDATE and DELETE pass untouched', async (t) => {
    const app = makeApp();
    t.after(() => app.close());
    const update = await postJson(app, buildReview(loadDeploymentPod(), { uid: 'u', operation: 'UPDATE' }));
    assert.deepEqual(readAnswer(update.body, 'u'), { uid: 'u', allowed: true });
    const del = await postJson(app, buildReview(null, { uid: 'd', operation: 'DELETE', namespace: 'shop' }));
    assert.deepEqual(readAnswer(del.body, 'd'), { uid: 'd', allowed: true });
  });

  test('an invalid override annotation is denied with 400 naming the annotation', async (t) => {
    const app = makeApp();
    t.after(() => app.close());
    const pod = podWithAnnotations({ 'pillion.dev/inject': 'enabled', 'pillion.dev/exclude-inbound-ports': '80,not-a-port' });
    const res = await postJson(app, buildReview(pod, { uid: 'bad-ann' }));
    assert.equal(res.statusCode, 200);
    const answer = readAnswer(res.body, 'bad-ann');
    assert.equal(answer.allowed, false);
    assert.equal(answer.status?.code, 400);
    assert.match(answer.status?.message ?? '', /pillion\.dev\/exclude-inbound-ports/);
    assert.equal(answer.patch, undefined);
  });

  test('an internal failure is denied with 500', async (t) => {
    // Named fake: the real core has no failure we could trigger on purpose.
    const failingInject: InjectFn = () => {
      throw new TypeError('simulated bug in the core');
    };
    const app = makeApp({ inject: failingInject });
    t.after(() => app.close());
    const res = await postJson(app, buildReview(loadDeploymentPod(), { uid: 'boom' }));
    assert.equal(res.statusCode, 200);
    const answer = readAnswer(res.body, 'boom');
    assert.equal(answer.allowed, false);
    assert.equal(answer.status?.code, 500);
    assert.match(answer.status?.message ?? '', /simulated bug/);
  });

  const malformed: [string, string, RegExp][] = [
    ['bad JSON', '{"apiVersion": "admission.k8s.io/v1", "kind": ', /JSON/i],
    ['wrong apiVersion', JSON.stringify({ ...buildReview(loadDeploymentPod()), apiVersion: 'admission.k8s.io/v1beta1' }), /apiVersion must be admission\.k8s\.io\/v1/],
    ['wrong kind', JSON.stringify({ ...buildReview(loadDeploymentPod()), kind: 'Pod' }), /kind must be AdmissionReview/],
    ['missing request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /request is missing/],
    ['missing uid', JSON.stringify(withRequest({ uid: undefined })), /uid is missing/],
    ['missing operation', JSON.stringify(withRequest({ operation: undefined })), /request\.operation is missing/],
    ['object not a Pod', JSON.stringify(withRequest({ kind: { group: 'apps', version: 'v1', kind: 'Deployment' } })), /request\.kind must be/],
    ['object missing', JSON.stringify(withRequest({ object: undefined })), /request\.object is missing/],
    ['array body', '[]', /JSON object/],
    ['empty body', '', /empty/i],
    ['__proto__ key', '{"__proto__": {"polluted": true}}', /.+/],
  ];
  for (const [name, payload, message] of malformed) {
    test(`malformed request (${name}) → 400 with a JSON message`, async (t) => {
      const app = makeApp();
      t.after(() => app.close());
      const res = await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'application/json' }, payload });
      assert.equal(res.statusCode, 400);
      const body = res.json<{ statusCode: number; message: string }>();
      assert.equal(body.statusCode, 400);
      assert.match(body.message, message);
    });
  }

  test('garbage bytes: 400 as JSON, 415 without a JSON content type', async (t) => {
    const app = makeApp();
    t.after(() => app.close());
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80, 0x22, 0xc3, 0x28]);
    const asJson = await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'application/json' }, payload: garbage });
    assert.equal(asJson.statusCode, 400);
    const asOctets = await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'application/octet-stream' }, payload: garbage });
    assert.equal(asOctets.statusCode, 415);
    const asText = await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    assert.equal(asText.statusCode, 415);
    assert.equal(asText.json<{ statusCode: number }>().statusCode, 415);
    const good = await postJson(app, buildReview(loadDeploymentPod(), { uid: 'after' }));
    assert.equal(readAnswer(good.body, 'after').allowed, true);
  });

  test('a body over the limit → 413, and the app keeps serving', async (t) => {
    const app = makeApp({ bodyLimit: 64 * 1024 });
    t.after(() => app.close());
    const pod = loadDeploymentPod();
    (pod.metadata as Record<string, unknown>).annotations = { 'pillion.dev/inject': 'enabled', big: 'x'.repeat(70 * 1024) };
    const res = await postJson(app, buildReview(pod));
    assert.equal(res.statusCode, 413);
    assert.equal(res.json<{ statusCode: number }>().statusCode, 413);
    const good = await postJson(app, buildReview(loadDeploymentPod(), { uid: 'after-413' }));
    assert.equal(good.statusCode, 200);
  });
});

function withRequest(changes: Record<string, unknown>): Record<string, unknown> {
  const review = buildReview(loadDeploymentPod());
  const request = { ...(review.request as Record<string, unknown>), ...changes };
  for (const [k, v] of Object.entries(changes)) if (v === undefined) delete request[k];
  return { ...review, request };
}

describe('health, readiness, metrics', () => {
  test('healthz is 200; readyz is 503 until the setup is loaded, then 200', async (t) => {
    const holder: { loaded?: typeof setup } = {};
    const app = buildInjectorApp({ setup: { current: () => holder.loaded }, logger: false });
    t.after(() => app.close());
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    const before = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(before.statusCode, 503);
    assert.deepEqual(before.json(), { ready: false, waitingFor: ['configuration and templates'] });
    const review = await postJson(app, buildReview(loadDeploymentPod()));
    assert.equal(review.statusCode, 503, 'reviews before the setup is loaded leave the decision to failurePolicy');
    holder.loaded = setup;
    const after = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(after.statusCode, 200);
    assert.deepEqual(after.json(), { ready: true, waitingFor: [] });
  });

  test('readyz reports extra readiness conditions', async (t) => {
    const app = makeApp({ readiness: () => ({ ready: false, waitingFor: ['certificates'] }) });
    t.after(() => app.close());
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { ready: false, waitingFor: ['certificates'] });
  });

  test('metrics count requests, injections, skips by reason, errors by kind, and latency', async (t) => {
    const app = makeApp();
    t.after(() => app.close());
    await postJson(app, buildReview(loadDeploymentPod()));
    await postJson(app, buildReview(loadDeploymentPod()));
    await postJson(app, buildReview(podWithAnnotations({})));
    await postJson(app, buildReview(podWithAnnotations({ 'pillion.dev/inject': 'enabled', 'pillion.dev/redirect-dns': 'perhaps' })));
    await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'application/json' }, payload: '{' });
    await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'text/plain' }, payload: 'x' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const text = res.body;
    assert.match(text, /^pillion_admission_requests_total 6$/m);
    assert.match(text, /^pillion_injections_total 2$/m);
    assert.match(text, /^pillion_skips_total\{reason="not-opted-in"\} 1$/m);
    assert.match(text, /^pillion_admission_errors_total\{kind="invalid-annotation"\} 1$/m);
    assert.match(text, /^pillion_admission_errors_total\{kind="malformed"\} 1$/m);
    assert.match(text, /^pillion_admission_errors_total\{kind="unsupported-media-type"\} 1$/m);
    assert.match(text, /^pillion_admission_duration_seconds_bucket\{le="0.0001"\} \d+$/m);
    assert.match(text, /^pillion_admission_duration_seconds_bucket\{le="0.001"\} \d+$/m);
    assert.match(text, /^pillion_admission_duration_seconds_count 6$/m);
  });

  test('two apps in one process keep separate registries', async (t) => {
    const a = makeApp();
    const b = makeApp();
    t.after(async () => {
      await a.close();
      await b.close();
    });
    await postJson(a, buildReview(loadDeploymentPod()));
    assert.match((await a.inject({ method: 'GET', url: '/metrics' })).body, /^pillion_admission_requests_total 1$/m);
    assert.match((await b.inject({ method: 'GET', url: '/metrics' })).body, /^pillion_admission_requests_total 0$/m);
  });
});

describe('namespace lookup cache', () => {
  test('reuses answers within the TTL, shares in-flight calls, expires, retries failures sooner', async () => {
    let clock = 0;
    const calls: string[] = [];
    let fail = false;
    // A counting lookup standing in for the API server (none is available here).
    const counting: NamespaceLookup = {
      labelsOf: (ns) => {
        calls.push(ns);
        return fail ? Promise.reject(new Error(`cannot read namespace ${ns}: forbidden`)) : Promise.resolve({ team: ns });
      },
    };
    const cached = createCachedNamespaceLookup(counting, { ttlMs: 1000, failureTtlMs: 100, now: () => clock });
    const [x, y] = await Promise.all([cached.labelsOf('a'), cached.labelsOf('a')]);
    assert.deepEqual(x, { team: 'a' });
    assert.equal(x, y);
    assert.deepEqual(calls, ['a']);
    clock = 999;
    await cached.labelsOf('a');
    assert.deepEqual(calls, ['a']);
    clock = 1000;
    await cached.labelsOf('a');
    assert.deepEqual(calls, ['a', 'a']);
    fail = true;
    await assert.rejects(cached.labelsOf('b'), /forbidden/);
    await new Promise((r) => setImmediate(r));
    clock = 1099;
    await assert.rejects(cached.labelsOf('b'), /forbidden/, 'the failure is shared for failureTtlMs');
    assert.deepEqual(calls, ['a', 'a', 'b']);
    clock = 1100;
    fail = false;
    assert.deepEqual(await cached.labelsOf('b'), { team: 'b' });
    assert.deepEqual(calls, ['a', 'a', 'b', 'b']);
  });

  test('when namespace labels cannot be read, a pod relying on them is refused with the reason; a pod deciding for itself is not', async (t) => {
    const failing: NamespaceLookup = { labelsOf: (ns) => Promise.reject(new Error(`cannot read namespace ${ns}: namespaces "${ns}" is forbidden`)) };
    const app = buildInjectorApp({ setup: { current: () => setup }, logger: false, namespaceLookup: failing });
    t.after(() => app.close());
    const send = async (pod: JsonObject, uid: string) => readAnswer((await app.inject({ method: 'POST', url: '/inject', payload: buildReview(pod, { uid, namespace: 'shop' }) })).body, uid);
    const relying = await send(podWithAnnotations({}), 'r1');
    assert.equal(relying.allowed, false);
    assert.equal(relying.status?.code, 500);
    assert.match(relying.status?.message ?? '', /labels of namespace shop .*cannot be read .*forbidden/);
    const optedIn = await send(podWithAnnotations({ 'pillion.dev/inject': 'enabled' }), 'r2');
    assert.equal(optedIn.allowed, true);
    assert.notEqual(optedIn.patch, undefined);
    const optedOut = await send(podWithAnnotations({ 'pillion.dev/inject': 'disabled' }), 'r3');
    assert.equal(optedOut.allowed, true);
    assert.equal(optedOut.patch, undefined);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /pillion_admission_errors_total\{kind="namespace-lookup"\} 1/);
  });

  test('config defaultPolicy enabled injects pods that say nothing', async (t) => {
    const enabled = { ...setup, config: parseInjectorConfig('defaultPolicy: enabled\n', 'test') };
    const app = buildInjectorApp({ setup: { current: () => enabled }, logger: false });
    t.after(() => app.close());
    const res = await postJson(app, buildReview(podWithAnnotations({}), { uid: 'dp' }));
    assert.ok(readAnswer(res.body, 'dp').patch !== undefined);
  });
});
