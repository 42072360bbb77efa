// Pod-level resources (spec.resources): an injected pod stays one the API server accepts. The
// checks below are the API server's (validatePodResourceConsistency and the pod-level requests ≤
// limits rule of Kubernetes 1.37), applied to every injected pod of a grid of pod shapes; the
// real API server test (e2e/cluster/webhook-apiserver.test.ts) admits one such pod.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultInjectorConfig } from '../../../injector/core/config.js';
import { InjectionError } from '../../../injector/core/errors.js';
import { injectPod, uninjectPod } from '../../../injector/core/inject.js';
import { aggregateRequests, formatQuantity, parseQuantity } from '../../../injector/core/pod-resources.js';
import type { InjectorConfig, InjectorSetup, JsonObject } from '../../../injector/core/types.js';
import { bundledTemplates } from './fixture-support.js';

const ctx = { mode: 'candidate', namespace: 'shop', namespaceLabels: undefined } as const;

function setup(config: Partial<InjectorConfig> = {}): InjectorSetup {
  return { config: { ...defaultInjectorConfig, ...config }, templates: bundledTemplates() };
}

test('quantities are read exactly, in nano-units rounded up, and written canonically', () => {
  const cases: [unknown, bigint | undefined][] = [
    ['100m', 100_000_000n], ['2', 2_000_000_000n], [2, 2_000_000_000n], ['0.5', 500_000_000n], ['.5', 500_000_000n], ['1.', 1_000_000_000n],
    ['1Gi', 2n ** 30n * 1_000_000_000n], ['1.5Gi', 3n * 2n ** 29n * 1_000_000_000n], ['128Mi', 128n * 2n ** 20n * 1_000_000_000n],
    ['1e3', 1000n * 1_000_000_000n], ['1E-3', 1_000_000n], ['5n', 5n], ['1.5n', 2n], ['3u', 3000n], ['1k', 1_000_000_000_000n], ['+1', 1_000_000_000n],
    ['.', 0n], ['1e30', 10n ** 39n],
    ['', undefined], ['abc', undefined], ['1.2.3', undefined], ['1 Gi', undefined], ['1Gb', undefined], [null, undefined], [{}, undefined],
    // Accepted by the API server, refused here: no real resource is that big, and 10^huge is not computed.
    ['1e31', undefined], ['1e999999999', undefined], ['1e-31', undefined],
  ];
  for (const [text, nanos] of cases) assert.equal(parseQuantity(text), nanos, JSON.stringify(text));
  // What is written is a fixed point of the API server's canonicalisation (resource.Quantity's
  // String(), checked with apimachinery v0.37.2 for every output below), so it stores what was written.
  const canonical: [string, boolean, string][] = [
    ['600m', false, '600m'], ['0.6', false, '600m'], ['2', false, '2'], ['2048', false, '2048'], ['1000', false, '1k'], ['1100000000', false, '1100M'],
    ['1500', false, '1500'], ['5n', false, '5n'], ['0', false, '0'], ['1e3', false, '1k'], ['12e6', false, '12M'],
    ['1152Mi', true, '1152Mi'], ['1.5Gi', true, '1536Mi'], ['1Gi', true, '1Gi'], ['1024', true, '1Ki'], ['512', true, '512'], ['1500m', true, '1500m'], ['1000', true, '1k'],
  ];
  for (const [text, binary, want] of canonical) assert.equal(formatQuantity(parseQuantity(text) ?? -1n, binary), want, `${text} (${binary ? 'binary' : 'decimal'})`);
});

test('the aggregate of container requests follows the API server: containers and sidecars add up, an init container counts beside the sidecars before it', () => {
  const c = (name: string, cpu: string, restartPolicy?: string): JsonObject => ({ name, ...(restartPolicy === undefined ? {} : { restartPolicy }), resources: { requests: { cpu } } });
  const cpu = (spec: JsonObject): string => formatQuantity(aggregateRequests(spec).get('cpu') ?? 0n, false);
  assert.equal(cpu({ containers: [c('a', '200m'), c('b', '300m')] }), '500m');
  assert.equal(cpu({ initContainers: [c('s', '100m', 'Always')], containers: [c('a', '200m')] }), '300m');
  // A big init container after a sidecar: 1 + 0.1 at that moment, more than the 0.3 of the running pod.
  assert.equal(cpu({ initContainers: [c('s', '100m', 'Always'), c('i', '1')], containers: [c('a', '200m')] }), '1100m');
  // Before the sidecar: 1 alone.
  assert.equal(cpu({ initContainers: [c('i', '1'), c('s', '100m', 'Always')], containers: [c('a', '200m')] }), '1');
  // A limit without a request is the request (the API server's defaulting).
  assert.equal(cpu({ containers: [{ name: 'a', resources: { limits: { cpu: '250m' } } }] }), '250m');
});

/** The pod-level request the API server works with: the pod's own, else (1.37) derived from the containers, else the limit. */
function effectiveRequest(spec: JsonObject, resource: string): bigint | undefined {
  const resources = (spec.resources as JsonObject | undefined) ?? {};
  const own = ((resources.requests as Record<string, string> | undefined) ?? {})[resource];
  if (own !== undefined) return parseQuantity(own);
  const total = aggregateRequests(spec).get(resource);
  if (total !== undefined) return total;
  return parseQuantity(((resources.limits as Record<string, string> | undefined) ?? {})[resource]);
}

/** The API server's pod-level checks: what it would refuse the pod for. */
function podLevelProblems(spec: JsonObject): string[] {
  const resources = (spec.resources as JsonObject | undefined) ?? {};
  const requests = (resources.requests as Record<string, string> | undefined) ?? {};
  const limits = (resources.limits as Record<string, string> | undefined) ?? {};
  const problems: string[] = [];
  const show = (value: bigint | undefined): string => formatQuantity(value ?? 0n, false);
  for (const [resource, total] of aggregateRequests(spec)) {
    const own = parseQuantity(requests[resource]);
    if (own !== undefined && total > own) problems.push(`requests.${resource} ${show(own)} < containers' ${show(total)}`);
  }
  for (const resource of new Set([...Object.keys(requests), ...Object.keys(limits)])) {
    const request = effectiveRequest(spec, resource);
    const limit = parseQuantity(limits[resource]);
    if (request !== undefined && limit !== undefined && request > limit) problems.push(`requests.${resource} ${show(request)} > limits ${limits[resource]}`);
  }
  for (const container of (spec.containers as JsonObject[] | undefined) ?? []) {
    const own = ((container.resources as JsonObject | undefined)?.limits as Record<string, string> | undefined) ?? {};
    for (const [resource, limit] of Object.entries(own)) {
      const pod = parseQuantity(limits[resource]);
      if (pod !== undefined && (parseQuantity(limit) ?? 0n) > pod) problems.push(`${String(container.name)} limits.${resource} ${limit} > pod's ${limits[resource]}`);
    }
  }
  return problems;
}

function pod(resources: JsonObject, app: JsonObject): JsonObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' },
    spec: { resources, containers: [{ name: 'app', image: 'registry.example/app:1', resources: app }] },
  };
}

const podShapes: [string, JsonObject, JsonObject][] = [
  ['requests exactly the app\'s', { requests: { cpu: '500m', memory: '256Mi' } }, { requests: { cpu: '500m', memory: '256Mi' } }],
  ['requests and limits, both full', { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }, { requests: { cpu: '1', memory: '1Gi' } }],
  ['limits only, the app requesting all of them', { limits: { cpu: '1', memory: '512Mi' } }, { requests: { cpu: '1', memory: '512Mi' } }],
  ['limits only, the app requesting nothing', { limits: { cpu: '1', memory: '512Mi' } }, {}],
  ['requests with slack', { requests: { cpu: '2' } }, { requests: { cpu: '250m' } }],
  ['cpu only, memory at container level', { requests: { cpu: '300m' } }, { requests: { cpu: '300m', memory: '64Mi' }, limits: { memory: '64Mi' } }],
  ['odd units', { requests: { cpu: '0.25', memory: '300M' }, limits: { memory: '1e9' } }, { requests: { cpu: '250m', memory: '300M' } }],
  ['limits only for cpu, the app requesting only memory', { limits: { cpu: '1', memory: '1Gi' } }, { requests: { memory: '512Mi' } }],
  ['a full pod, requests equal to limits', { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }, { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }],
];

test('an injected pod with pod-level resources is one the API server accepts (every template, capture mode and sidecar placement), and uninject restores it', () => {
  for (const [shape, resources, app] of podShapes) {
    const input = pod(resources, app);
    assert.deepEqual(podLevelProblems(input.spec as JsonObject), [], `${shape}: the input is valid`);
    for (const templates of bundledTemplates().proxyTemplates) {
      for (const captureMode of ['init', 'cni'] as const) {
        for (const nativeSidecar of ['on', 'off'] as const) {
          const where = `${shape}, ${templates}, ${captureMode}, native ${nativeSidecar}`;
          const withTemplates: JsonObject = { ...input, metadata: { ...(input.metadata as JsonObject), annotations: { 'pillion.dev/templates': templates } } };
          const s = setup({ captureMode, nativeSidecar });
          const result = injectPod(withTemplates, ctx, s);
          assert.equal(result.kind, 'injected', where);
          if (result.kind !== 'injected') continue;
          const spec = result.pod.spec as JsonObject;
          assert.deepEqual(podLevelProblems(spec), [], where);
          // The app keeps what it had: the pod's request grew by what was added, no less, no more;
          // a limit grew only to that request.
          const before = aggregateRequests(input.spec as JsonObject);
          const after = aggregateRequests(spec);
          const ownLimits = (resources.limits as Record<string, string> | undefined) ?? {};
          const newLimits = ((spec.resources as JsonObject).limits as Record<string, string> | undefined) ?? {};
          for (const resource of new Set([...Object.keys((resources.requests as JsonObject | undefined) ?? {}), ...Object.keys(ownLimits)])) {
            const grown = (after.get(resource) ?? 0n) - (before.get(resource) ?? 0n);
            const request = effectiveRequest(spec, resource) ?? 0n;
            assert.equal(request, (effectiveRequest(input.spec as JsonObject, resource) ?? 0n) + grown, `${where}: the pod's ${resource} request`);
            const limit = parseQuantity(ownLimits[resource]);
            if (limit !== undefined) assert.equal(parseQuantity(newLimits[resource]), limit > request ? limit : request, `${where}: limits.${resource}`);
          }
          // Every value written is in the API server's canonical form, so the stored pod re-injects as a no-op.
          for (const kind of ['requests', 'limits']) {
            for (const value of Object.values(((spec.resources as JsonObject)[kind] as Record<string, string> | undefined) ?? {})) {
              const parsed = parseQuantity(value);
              assert.ok(parsed !== undefined);
              assert.ok(value === formatQuantity(parsed, false) || value === formatQuantity(parsed, true) || Object.values((resources[kind] as JsonObject | undefined) ?? {}).includes(value), `${where}: ${value}`);
            }
          }
          assert.deepEqual(injectPod(result.pod, ctx, s).kind, 'skipped', `${where}: injecting again is a no-op`);
          const undone = uninjectPod(result.pod);
          assert.equal(undone.kind, 'uninjected');
          if (undone.kind === 'uninjected') assert.deepEqual(undone.pod, withTemplates, `${where}: uninject restores the pod's own resources`);
        }
      }
    }
  }
});

test('a pod without pod-level resources (or an empty spec.resources) keeps them untouched and the status records nothing', () => {
  const plain = injectPod(pod({}, { requests: { cpu: '1' } }), ctx, setup());
  assert.equal(plain.kind, 'injected');
  if (plain.kind === 'injected') {
    assert.deepEqual((plain.pod.spec as JsonObject).resources, {});
    assert.ok(!plain.patch.some((op) => op.path.startsWith('/spec/resources')));
    assert.doesNotMatch(String(((plain.pod.metadata as JsonObject).annotations as JsonObject)['pillion.dev/status']), /podResources/);
  }
  const none = injectPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'a' }] } }, ctx, setup());
  assert.equal(none.kind, 'injected');
  if (none.kind === 'injected') assert.equal((none.pod.spec as JsonObject).resources, undefined);
});

test('the patch raises the pod-level values in place and records the pod\'s own', () => {
  const result = injectPod(pod({ requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } }, { requests: { cpu: '500m', memory: '256Mi' } }), ctx, setup({ nativeSidecar: 'on' }));
  assert.equal(result.kind, 'injected');
  if (result.kind !== 'injected') return;
  const proxy = bundledTemplates().values as { proxy: { resources: { requests: { cpu: string; memory: string } } } };
  assert.deepEqual(proxy.proxy.resources.requests, { cpu: '100m', memory: '128Mi' }, 'the numbers below assume the bundled values');
  assert.deepEqual((result.pod.spec as JsonObject).resources, { requests: { cpu: '600m', memory: '384Mi' }, limits: { cpu: '1', memory: '512Mi' } });
  assert.deepEqual(result.patch.filter((op) => op.path.startsWith('/spec/resources')), [
    { op: 'replace', path: '/spec/resources/requests/cpu', value: '600m' },
    { op: 'replace', path: '/spec/resources/requests/memory', value: '384Mi' },
  ]);
  const status = JSON.parse(String(((result.pod.metadata as JsonObject).annotations as JsonObject)['pillion.dev/status'])) as JsonObject;
  assert.deepEqual(status.podResources, { requests: { cpu: ['500m', '600m'], memory: ['256Mi', '384Mi'] } });
});

test('a regular-container proxy gets its own limit lowered to the pod\'s, rather than the pod\'s raised', () => {
  const result = injectPod(pod({ requests: { cpu: '1' }, limits: { cpu: '1', memory: '512Mi' } }, { requests: { cpu: '900m' } }), ctx, setup({ nativeSidecar: 'off' }));
  assert.equal(result.kind, 'injected');
  if (result.kind !== 'injected') return;
  const spec = result.pod.spec as JsonObject;
  // Requests grow by the proxy's 100m / 128Mi (memory: the pod's limit was its request, kept as an
  // explicit one); limits only to those requests, not to the proxy's 2 CPUs and 1Gi.
  assert.deepEqual(spec.resources, { requests: { cpu: '1100m', memory: '640Mi' }, limits: { cpu: '1100m', memory: '640Mi' } });
  const proxy = (spec.containers as JsonObject[]).find((c) => c.name === 'pillion-proxy');
  assert.deepEqual((proxy?.resources as JsonObject).limits, { cpu: '1100m', memory: '640Mi' });
  assert.deepEqual(podLevelProblems(spec), []);
});

test('values edited after injection keep the edit: uninject takes off only what injection added', () => {
  const s = setup({ nativeSidecar: 'on' });
  const input = pod({ requests: { cpu: '500m', memory: '1Gi' } }, { requests: { cpu: '500m', memory: '1Gi' } });
  const injected = injectPod(input, ctx, s);
  assert.equal(injected.kind, 'injected');
  if (injected.kind !== 'injected') return;
  assert.deepEqual((injected.pod.spec as JsonObject).resources, { requests: { cpu: '600m', memory: '1152Mi' } });
  // The user raised the pod's memory to 4Gi in the injected manifest.
  const edited = structuredClone(injected.pod);
  ((edited.spec as JsonObject).resources as { requests: Record<string, string> }).requests.memory = '4Gi';
  const undone = uninjectPod(edited);
  assert.equal(undone.kind, 'uninjected');
  if (undone.kind === 'uninjected') assert.deepEqual((undone.pod.spec as JsonObject).resources, { requests: { cpu: '500m', memory: '3968Mi' } });
  // Re-injected: the edit stays (4Gi), not reverted to 1152Mi; only the record changes.
  const again = injectPod(edited, ctx, s);
  assert.equal(again.kind, 'injected');
  if (again.kind === 'injected') {
    assert.deepEqual((again.pod.spec as JsonObject).resources, { requests: { cpu: '600m', memory: '4Gi' } });
    assert.deepEqual(again.patch.map((op) => op.path), ['/metadata/annotations/pillion.dev~1status']);
  }
  // Removed since: stays removed.
  const removed = structuredClone(injected.pod);
  delete (removed.spec as JsonObject).resources;
  const undoneRemoved = uninjectPod(removed);
  if (undoneRemoved.kind === 'uninjected') assert.equal((undoneRemoved.pod.spec as JsonObject).resources, undefined);
});

test('a status record whose podResources is malformed is refused, naming the annotation', () => {
  const injected = injectPod(pod({ requests: { cpu: '500m' } }, { requests: { cpu: '500m' } }), ctx, setup());
  assert.equal(injected.kind, 'injected');
  if (injected.kind !== 'injected') return;
  const annotations = (injected.pod.metadata as JsonObject).annotations as Record<string, string>;
  const status = JSON.parse(annotations['pillion.dev/status'] ?? '{}') as JsonObject;
  for (const bad of [{ requests: { cpu: '600m' } }, { requests: { cpu: ['500m'] } }, { other: {} }, []]) {
    const broken = { ...injected.pod, metadata: { ...(injected.pod.metadata as JsonObject), annotations: { ...annotations, 'pillion.dev/status': JSON.stringify({ ...status, podResources: bad }) } } };
    assert.throws(() => uninjectPod(broken), (e: unknown) => e instanceof InjectionError && /pillion\.dev\/status: "podResources" must map/.test(e.message), JSON.stringify(bad));
  }
});

test('a pod-level or container quantity that is not one is refused with its path', () => {
  assert.throws(() => injectPod(pod({ requests: { cpu: 'lots' } }, {}), ctx, setup()), (e: unknown) => e instanceof InjectionError && /spec\.resources\.requests\.cpu: "lots" is not a Kubernetes quantity/.test(e.message));
  assert.throws(() => injectPod(pod({ requests: { cpu: '1' } }, { limits: { memory: '1 Gi' } }), ctx, setup()), (e: unknown) => e instanceof InjectionError && /spec\.containers\[0\]\.resources\.limits\.memory: "1 Gi"/.test(e.message));
});
