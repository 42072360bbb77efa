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
    ['', undefined], ['abc', undefined], ['1.2.3', undefined], ['1 Gi', undefined], ['1Gb', undefined], ['.', undefined], [null, undefined], [{}, undefined],
  ];
  for (const [text, nanos] of cases) assert.equal(parseQuantity(text), nanos, JSON.stringify(text));
  const format = (text: string, resource: string): string => formatQuantity(parseQuantity(text) ?? -1n, resource);
  assert.equal(format('600m', 'cpu'), '600m');
  assert.equal(format('2', 'cpu'), '2');
  assert.equal(format('2048', 'cpu'), '2048');
  assert.equal(format('1152Mi', 'memory'), '1152Mi');
  assert.equal(format('1Gi', 'memory'), '1Gi');
  assert.equal(format('1000', 'memory'), '1000');
  assert.equal(format('1500m', 'memory'), '1500m');
  assert.equal(format('5n', 'cpu'), '5n');
});

test('the aggregate of container requests follows the API server: containers and sidecars add up, an init container counts beside the sidecars before it', () => {
  const c = (name: string, cpu: string, restartPolicy?: string): JsonObject => ({ name, ...(restartPolicy === undefined ? {} : { restartPolicy }), resources: { requests: { cpu } } });
  const cpu = (spec: JsonObject): string => formatQuantity(aggregateRequests(spec).get('cpu') ?? 0n, 'cpu');
  assert.equal(cpu({ containers: [c('a', '200m'), c('b', '300m')] }), '500m');
  assert.equal(cpu({ initContainers: [c('s', '100m', 'Always')], containers: [c('a', '200m')] }), '300m');
  // A big init container after a sidecar: 1 + 0.1 at that moment, more than the 0.3 of the running pod.
  assert.equal(cpu({ initContainers: [c('s', '100m', 'Always'), c('i', '1')], containers: [c('a', '200m')] }), '1100m');
  // Before the sidecar: 1 alone.
  assert.equal(cpu({ initContainers: [c('i', '1'), c('s', '100m', 'Always')], containers: [c('a', '200m')] }), '1');
  // A limit without a request is the request (the API server's defaulting).
  assert.equal(cpu({ containers: [{ name: 'a', resources: { limits: { cpu: '250m' } } }] }), '250m');
});

/** The API server's pod-level checks: what it would refuse the pod for. */
function podLevelProblems(spec: JsonObject): string[] {
  const resources = (spec.resources as JsonObject | undefined) ?? {};
  const requests = (resources.requests as Record<string, string> | undefined) ?? {};
  const limits = (resources.limits as Record<string, string> | undefined) ?? {};
  const problems: string[] = [];
  const aggregate = aggregateRequests(spec);
  for (const [resource, total] of aggregate) {
    // Without a pod-level request the API server derives it from the containers (or the limit).
    const request = requests[resource] !== undefined ? parseQuantity(requests[resource]) : (limits[resource] !== undefined && total === 0n ? parseQuantity(limits[resource]) : total);
    if (request !== undefined && total > request) problems.push(`requests.${resource} ${formatQuantity(request, resource)} < containers' ${formatQuantity(total, resource)}`);
    const limit = parseQuantity(limits[resource]);
    if (request !== undefined && limit !== undefined && request > limit) problems.push(`requests.${resource} ${formatQuantity(request, resource)} > limits ${limits[resource]}`);
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
          // The app keeps what it had: the budget grew by what was added, no less, no more.
          const before = aggregateRequests(input.spec as JsonObject);
          const after = aggregateRequests(spec);
          const podRequests = ((spec.resources as JsonObject).requests as Record<string, string> | undefined) ?? {};
          const originalRequests = (resources.requests as Record<string, string> | undefined) ?? {};
          for (const [resource, value] of Object.entries(originalRequests)) {
            const grown = (after.get(resource) ?? 0n) - (before.get(resource) ?? 0n);
            assert.equal(parseQuantity(podRequests[resource]), (parseQuantity(value) ?? 0n) + grown, `${where}: requests.${resource}`);
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

test('a pod without pod-level resources, or with room enough, keeps spec.resources untouched and the status records nothing', () => {
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
  assert.deepEqual(status.podResources, { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
});

test('a pod-level or container quantity that is not one is refused with its path', () => {
  assert.throws(() => injectPod(pod({ requests: { cpu: 'lots' } }, {}), ctx, setup()), (e: unknown) => e instanceof InjectionError && /spec\.resources\.requests\.cpu: "lots" is not a Kubernetes quantity/.test(e.message));
  assert.throws(() => injectPod(pod({ requests: { cpu: '1' } }, { limits: { memory: '1 Gi' } }), ctx, setup()), (e: unknown) => e instanceof InjectionError && /spec\.containers\[0\]\.resources\.limits\.memory: "1 Gi"/.test(e.message));
});
