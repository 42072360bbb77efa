// Fuzz: thousands of generated and mutated AdmissionReviews (random pods, random and invalid
// annotations, structural mutations, random bytes) through app.inject(). Every answer must be
// well-formed and every patch must apply to the pod it was computed for; and with the decision
// cache (parse-free repeats included) every answer must equal a fresh decision's, byte for byte.
// Seeded, so a failure reproduces; FUZZ_SEED overrides the seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildInjectorApp } from '../../../injector/webhook/app.js';
import { createDecisionCache } from '../../../injector/webhook/decision-cache.js';
import { loadSetup } from '../../../injector/core/setup.js';
import type { JsonObject } from '../../../injector/core/types.js';
import { applyPatchTo, buildReview, decodePatch, hasProxy, loadDeploymentPod } from './support/reviews.js';
import type { ReviewAnswer } from './support/reviews.js';

const seed = Number(process.env.FUZZ_SEED ?? 20251123);
const runs = 3000;

const overrideKeys = [
  'inject', 'templates', 'inbound-ports', 'exclude-inbound-ports', 'outbound-cidrs', 'exclude-outbound-cidrs', 'outbound-ports',
  'exclude-outbound-ports', 'exclude-interfaces', 'redirect-dns', 'proxy-cpu', 'proxy-memory', 'proxy-cpu-limit',
  'proxy-memory-limit', 'proxy-image', 'log-level', 'native-sidecar', 'status', 'no-such-override',
].map((k) => `pillion.dev/${k}`);

const trickyValue = fc.oneof(
  fc.constantFrom('enabled', 'disabled', 'true', 'false', '*', '', '80', '80,443', '8000-9000', '10.0.0.0/8', '::/0', 'eth0,lo', '100m', '1Gi',
    'debug', 'envoy', 'haproxy', 'envoy,haproxy', 'nope', 'example.com/proxy:1.2', '${values.proxy.image}', '{{ .Values }}', '"\n- name: evil',
    '{"containers":[{"name":"x"}]}', '99999', '-1', '0', '1-0', '10.0.0.0/33', 'a'.repeat(300)),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

const annotations = fc.dictionary(fc.oneof(fc.constantFrom(...overrideKeys), fc.string({ maxLength: 12 })), trickyValue, { maxKeys: 6 });
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
const container = fc.record(
  {
    name: fc.oneof(name, fc.constantFrom('pillion-proxy', 'pillion-init', 'app')),
    image: fc.constantFrom('nginx', 'busybox:1.36', 'example.com/app@sha256:' + 'a'.repeat(64)),
    ports: fc.array(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 3 }),
  },
  { requiredKeys: ['name'] },
);
const pod = fc.record(
  {
    apiVersion: fc.constant('v1'),
    kind: fc.constant('Pod'),
    metadata: fc.record(
      {
        name,
        generateName: name.map((n) => `${n}-`),
        namespace: fc.constantFrom('shop', 'kube-system', 'default', 'meshed'),
        labels: fc.dictionary(fc.oneof(fc.constant('pillion.dev/inject'), name), trickyValue, { maxKeys: 3 }),
        annotations,
      },
      { requiredKeys: [] },
    ),
    spec: fc.record(
      {
        containers: fc.array(container, { minLength: 1, maxLength: 3 }),
        initContainers: fc.array(container, { maxLength: 2 }),
        volumes: fc.array(fc.record({ name, emptyDir: fc.constant({}) }), { maxLength: 2 }),
        hostNetwork: fc.boolean(),
      },
      { requiredKeys: ['containers'] },
    ),
  },
  { requiredKeys: ['apiVersion', 'kind', 'spec'] },
) as fc.Arbitrary<JsonObject>;

type Mutation = { path: (string | number)[]; action: 'delete' | 'replace'; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: fc.array(fc.oneof(fc.constantFrom('apiVersion', 'kind', 'request', 'uid', 'object', 'metadata', 'spec', 'containers', 'annotations', 'namespace', 'operation'), fc.nat({ max: 3 })), { minLength: 1, maxLength: 5 }),
  action: fc.constantFrom('delete', 'replace'),
  value: fc.jsonValue({ maxDepth: 2 }),
});

function mutate(doc: unknown, m: Mutation): unknown {
  const copy = structuredClone(doc);
  let node: unknown = copy;
  for (const [i, key] of m.path.entries()) {
    if (typeof node !== 'object' || node === null) break;
    const holder = node as Record<string | number, unknown>;
    if (i === m.path.length - 1 || !(key in holder)) {
      if (m.action === 'delete') delete holder[key];
      else holder[key] = m.value;
      break;
    }
    node = holder[key];
  }
  return copy;
}

type Case =
  | { kind: 'review'; body: JsonObject; mutations: Mutation[] }
  | { kind: 'bytes'; bytes: Uint8Array; contentType: string };

const cases: fc.Arbitrary<Case> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('review' as const), body: pod.map((p) => buildReview(p)), mutations: fc.constant<Mutation[]>([]) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('review' as const), body: fc.constant(buildReview(loadDeploymentPod())), mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('review' as const), body: pod.map((p) => buildReview(p)), mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 200 }), contentType: fc.constantFrom('application/json', 'application/octet-stream', 'text/plain') }) },
);

test(`fuzz: ${runs} generated and mutated AdmissionReviews get well-formed answers (seed ${seed})`, async (t) => {
  const setup = loadSetup({});
  const app = buildInjectorApp({
    setup: { current: () => setup },
    logger: false,
    bodyLimit: 64 * 1024,
    namespaceLookup: { labelsOf: (ns) => Promise.resolve<Record<string, string>>(ns === 'meshed' ? { 'pillion.dev/inject': 'enabled' } : {}) },
  });
  t.after(() => app.close());
  const tally = { injected: 0, allowed: 0, denied400: 0, http400: 0, http415: 0, http413: 0 };
  const internalErrors: string[] = [];

  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      const payload = c.kind === 'bytes' ? Buffer.from(c.bytes) : JSON.stringify(c.mutations.reduce<unknown>((doc, m) => mutate(doc, m), c.body));
      const contentType = c.kind === 'bytes' ? c.contentType : 'application/json';
      const res = await app.inject({ method: 'POST', url: '/inject', headers: { 'content-type': contentType }, payload });
      assert.ok([200, 400, 413, 415].includes(res.statusCode), `status ${res.statusCode}: ${res.body}`);
      const body = JSON.parse(res.body) as Record<string, unknown>;
      if (res.statusCode !== 200) {
        assert.equal(body.statusCode, res.statusCode);
        assert.equal(typeof body.message, 'string');
        tally[`http${res.statusCode}` as 'http400'] += 1;
        return;
      }
      // A 200 only for a JSON review we can read back; its uid must be echoed.
      const sent = JSON.parse(payload.toString()) as { request: { uid: string; object: JsonObject | null } };
      assert.equal(body.apiVersion, 'admission.k8s.io/v1');
      assert.equal(body.kind, 'AdmissionReview');
      const answer = body.response as ReviewAnswer;
      assert.equal(answer.uid, sent.request.uid);
      if (!answer.allowed) {
        assert.ok(answer.status !== undefined && [400, 500].includes(answer.status.code), JSON.stringify(answer));
        assert.ok(answer.status.message.length > 0);
        assert.equal(answer.patch, undefined);
        if (answer.status.code === 500) internalErrors.push(answer.status.message);
        else tally.denied400 += 1;
        return;
      }
      if (answer.patch === undefined) {
        tally.allowed += 1;
        return;
      }
      assert.ok(sent.request.object !== null);
      const patched = applyPatchTo(sent.request.object, decodePatch(answer));
      assert.ok(hasProxy(patched), 'an injection patch adds the proxy');
      tally.injected += 1;
    }),
    { seed, numRuns: runs, endOnFailure: true },
  );
  console.error(`# fuzz tally: ${JSON.stringify(tally)}; internal errors: ${internalErrors.length}`);
  // Every kind of answer was exercised, not just the easy ones.
  assert.ok(tally.injected > 100 && tally.allowed > 100 && tally.denied400 > 50 && tally.http400 > 50 && tally.http415 > 10, JSON.stringify(tally));
  // A 500 means the core threw something other than InjectionError: a bug to fix, not to accept.
  assert.deepEqual([...new Set(internalErrors)], []);
});

const differentialRuns = 600;

test(`differential: with the decision cache every answer is byte-equal to a fresh decision's (${differentialRuns} reviews, 3 sends each, seed ${seed})`, async (t) => {
  const setup = loadSetup({});
  const deps = {
    setup: { current: () => setup },
    logger: false as const,
    bodyLimit: 64 * 1024,
    namespaceLookup: { labelsOf: (ns: string) => Promise.resolve<Record<string, string>>(ns === 'meshed' ? { 'pillion.dev/inject': 'enabled' } : {}) },
  };
  const cached = buildInjectorApp(deps);
  const fresh = buildInjectorApp({ ...deps, decisionCache: createDecisionCache(0) });
  t.after(() => Promise.all([cached.close(), fresh.close()]));
  await fc.assert(
    fc.asyncProperty(cases.filter((c): c is Extract<Case, { kind: 'review' }> => c.kind === 'review'), async (c) => {
      const text = JSON.stringify(c.mutations.reduce<unknown>((doc, m) => mutate(doc, m), c.body));
      // Replicas: the same review with a fresh uid each time (when the uid can be told apart).
      const uid = (c.body.request as { uid: string }).uid;
      const sends = [1, 2, 3].map((n) => (text.split(uid).length === 2 ? text.replace(uid, `00000000-0000-0000-0000-00000000000${n}`) : text));
      for (const payload of sends) {
        const request = { method: 'POST' as const, url: '/inject', headers: { 'content-type': 'application/json' }, payload };
        const [got, want] = await Promise.all([cached.inject(request), fresh.inject(request)]);
        assert.equal(got.statusCode, want.statusCode, payload);
        assert.equal(got.body, want.body, payload);
      }
    }),
    { seed, numRuns: differentialRuns, endOnFailure: true },
  );
  const hits = Number(/^pillion_decision_cache_hits_total (\d+)$/m.exec((await cached.inject({ method: 'GET', url: '/metrics' })).body)?.[1]);
  console.error(`# differential: ${hits} answers came from the cache`);
  assert.ok(hits > differentialRuns / 2, `the cache answered only ${hits} times: the comparison did not exercise it`);
});
