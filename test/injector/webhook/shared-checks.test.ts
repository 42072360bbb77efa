// The webhook runs the same core checks as `pillion inject`, with the same messages: what the API
// server would refuse is denied (400, naming the annotation), another mesh's pod is allowed
// untouched with the reason as a warning, hanging pods and mixed prometheus.io/ draw warnings,
// and an edited injected pod is re-injected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { injectPod } from '../../../injector/core/inject.js';
import { loadSetup } from '../../../injector/core/setup.js';
import type { JsonObject } from '../../../injector/core/types.js';
import { InjectionError } from '../../../injector/core/errors.js';
import { buildInjectorApp } from '../../../injector/webhook/app.js';
import { applyPatchTo, buildReview, containerNames, decodePatch, podWithAnnotations, readAnswer } from './support/reviews.js';
import type { ReviewAnswer } from './support/reviews.js';

const setup = loadSetup({});

async function review(pod: JsonObject, uid: string): Promise<ReviewAnswer> {
  const app = buildInjectorApp({ setup: { current: () => setup }, logger: false });
  try {
    const res = await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(buildReview(pod, { uid })) });
    assert.equal(res.statusCode, 200);
    return readAnswer(res.body, uid);
  } finally {
    await app.close();
  }
}

/** The message the core gives for the same pod: what `pillion inject` prints after file and line. */
function coreMessage(pod: JsonObject): string {
  try {
    injectPod(pod, { namespace: 'shop', namespaceLabels: undefined, mode: 'policy' }, setup);
  } catch (error) {
    if (error instanceof InjectionError) return error.message;
    throw error;
  }
  assert.fail('the core accepted the pod');
}

const refused: [string, Record<string, string>, string][] = [
  ['a CPU request above the limit', { 'pillion.dev/proxy-cpu': '4' }, 'pillion.dev/proxy-cpu'],
  ['a memory limit below the request', { 'pillion.dev/proxy-memory-limit': '64Mi' }, 'pillion.dev/proxy-memory-limit'],
  ['a template set without a proxy', { 'pillion.dev/templates': 'proxy-logs' }, 'pillion.dev/templates'],
  ['two proxy templates', { 'pillion.dev/templates': 'envoy,haproxy' }, 'pillion.dev/templates'],
  ['two proxy templates, reversed', { 'pillion.dev/templates': 'haproxy,envoy' }, 'pillion.dev/templates'],
];

for (const [label, annotations, annotation] of refused) {
  test(`webhook denies ${label} with 400, the core's message and the annotation named`, async () => {
    const pod = podWithAnnotations({ 'pillion.dev/inject': 'enabled', ...annotations });
    const answer = await review(pod, `refused-${annotation}`);
    assert.equal(answer.allowed, false);
    assert.equal(answer.status?.code, 400);
    assert.ok(answer.status?.message.includes(coreMessage(pod)), `${answer.status?.message} vs ${coreMessage(pod)}`);
    assert.ok(answer.status?.message.includes(annotation));
  });
}

function withContainers(pod: JsonObject, extra: JsonObject[]): JsonObject {
  const spec = pod.spec as JsonObject;
  return { ...pod, spec: { ...spec, containers: [...(spec.containers as JsonObject[]), ...extra] } };
}

test('webhook denies pods the API server would refuse or that take Pillion\'s names', async () => {
  const base = podWithAnnotations({ 'pillion.dev/inject': 'enabled' });
  const app = (base.spec as { containers: JsonObject[] }).containers[0] as JsonObject;
  const cases: [string, JsonObject, RegExp][] = [
    ['user pillion-proxy', withContainers(base, [{ name: 'pillion-proxy', image: 'x:1' }]), /named "pillion-proxy", which Pillion reserves/],
    ['duplicate names', withContainers(base, [{ ...app }]), /is already used in spec\.containers/],
    ['port named like the proxy\'s', withContainers(base, [{ name: 'm', image: 'x:1', ports: [{ name: 'pillion-ready', containerPort: 9 }] }]), /port named "pillion-ready"/],
    ['initContainers as a map', { ...base, spec: { ...(base.spec as JsonObject), initContainers: { a: { image: 'x' } } } }, /spec\.initContainers must be a list, not a map/],
  ];
  for (const [label, pod, message] of cases) {
    const answer = await review(pod, `malformed-${label.replace(/\W+/g, '-')}`);
    assert.equal(answer.allowed, false, label);
    assert.equal(answer.status?.code, 400, label);
    assert.match(answer.status?.message ?? '', message, label);
    assert.ok(answer.status?.message.includes(coreMessage(pod)), label);
  }
});

test('a pod with Istio\'s or Linkerd\'s proxy is allowed untouched, with the reason as a warning', async () => {
  const istio = podWithAnnotations({ 'pillion.dev/inject': 'enabled', 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' });
  const linkerd = withContainers(podWithAnnotations({ 'pillion.dev/inject': 'enabled' }), [{ name: 'linkerd-proxy', image: 'cr.l5d.io/linkerd/proxy:stable' }]);
  for (const [pod, mesh] of [[istio, 'Istio'], [linkerd, 'Linkerd']] as const) {
    const answer = await review(pod, `mesh-${mesh}`);
    assert.equal(answer.allowed, true);
    assert.equal(answer.patch, undefined);
    assert.equal(answer.warnings?.length, 1);
    assert.match(answer.warnings?.[0] ?? '', new RegExp(`^not injected: the pod already has ${mesh}'s proxy`));
  }
});

test('a Job pod with a regular-container proxy and app init containers draw warnings within the API server\'s length', async () => {
  const pod = podWithAnnotations({ 'pillion.dev/inject': 'enabled' });
  const spec = pod.spec as JsonObject;
  spec.restartPolicy = 'Never';
  spec.initContainers = [{ name: 'migrate', image: 'registry.example/migrate:1' }];
  const answer = await review(pod, 'job');
  assert.equal(answer.allowed, true);
  const warnings = answer.warnings ?? [];
  assert.equal(warnings.length, 2);
  assert.match(warnings[0] ?? '', /^pod runs to completion \(restartPolicy: Never\).*pillion\.dev\/native-sidecar: "true"/);
  assert.match(warnings[1] ?? '', /^init containers migrate run with capture on.*uid 1337/);
  for (const warning of warnings) assert.ok(!warning.endsWith('...'), `clipped: ${warning}`);
});

test('a pod that already uses native sidecars gets a native proxy from the webhook too', async () => {
  const pod = podWithAnnotations({ 'pillion.dev/inject': 'enabled' });
  (pod.spec as JsonObject).initContainers = [{ name: 'shipper', image: 'registry.example/shipper:1', restartPolicy: 'Always' }];
  const answer = await review(pod, 'native');
  const patched = applyPatchTo(pod, decodePatch(answer));
  assert.deepEqual(containerNames(patched).initContainers, ['pillion-init', 'pillion-proxy', 'shipper']);
  assert.equal(answer.warnings, undefined);
});

test('prometheus.io/: an app with its own keeps them all, with a warning; the proxy\'s are not mixed in', async () => {
  const pod = podWithAnnotations({ 'pillion.dev/inject': 'enabled', 'prometheus.io/port': '8080' });
  const answer = await review(pod, 'prom');
  const patched = applyPatchTo(pod, decodePatch(answer));
  const annotations = (patched.metadata as JsonObject).annotations as Record<string, string>;
  assert.deepEqual(Object.keys(annotations).filter((k) => k.startsWith('prometheus.io/')), ['prometheus.io/port']);
  assert.equal(annotations['prometheus.io/port'], '8080');
  assert.match(answer.warnings?.[0] ?? '', /own prometheus\.io\/port/);
});

test('an injected pod whose annotations were edited is re-injected; unchanged it passes untouched', async () => {
  const pod = podWithAnnotations({ 'pillion.dev/inject': 'enabled' });
  const injected = applyPatchTo(pod, decodePatch(await review(pod, 'first')));
  const again = await review(injected, 'again');
  assert.equal(again.patch, undefined);
  const metadata = injected.metadata as JsonObject;
  const edited = { ...injected, metadata: { ...metadata, annotations: { ...(metadata.annotations as JsonObject), 'pillion.dev/log-level': 'debug' } } };
  const answer = await review(edited, 'edited');
  const patched = applyPatchTo(edited, decodePatch(answer));
  const names = containerNames(patched);
  assert.deepEqual([...names.containers, ...names.initContainers].filter((n) => n.startsWith('pillion-')).sort(), ['pillion-init', 'pillion-proxy']);
  assert.match(JSON.stringify(patched), /"--log-level","debug"/);
});

test('a config whose defaultTemplates cannot make a proxy stops the setup, naming file and key', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-default-templates-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [text, message] of [
    ['defaultTemplates: [proxy-logs]\n', /key "defaultTemplates": proxy-logs has no proxy template/],
    ['defaultTemplates: [envoy, haproxy]\n', /key "defaultTemplates": envoy,haproxy names 2 proxy templates/],
    ['defaultTemplates: [envoy, linkerd]\n', /key "defaultTemplates": linkerd not in /],
  ] as const) {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, text);
    assert.throws(() => loadSetup({ configFile: file }), (e: unknown) => e instanceof Error && e.message.startsWith(file) && message.test(e.message));
  }
});
