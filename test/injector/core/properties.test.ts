// Property tests (fast-check) over generated pods and generated annotation values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { defaultInjectorConfig } from '../../../injector/core/config.js';
import { injectPod } from '../../../injector/core/inject.js';
import { stringifyJson } from '../../../injector/core/json-text.js';
import { knownAnnotations } from '../../../injector/core/overrides.js';
import { renderTree } from '../../../injector/core/render.js';
import type { InjectContext, InjectorSetup, JsonObject } from '../../../injector/core/types.js';
import { InjectionError } from '../../../injector/core/errors.js';
import { bundledTemplates } from './fixture-support.js';

const setup: InjectorSetup = { config: defaultInjectorConfig, templates: bundledTemplates() };
const candidate: InjectContext = { mode: 'candidate', namespace: undefined, namespaceLabels: undefined };

const dnsName = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
// Keys with the characters JSON Pointer must escape, and dots/slashes like real annotation keys.
// Keys fast-json-patch refuses to touch (prototype pollution guard) are not valid Kubernetes label or
// annotation names either (those must start with an alphanumeric), so the API server never sends them.
const mapKey = fc
  .oneof(fc.stringMatching(/^[a-z~/._-]{1,12}$/), fc.constantFrom('a~b', 'x/y', '~1', '/~0', 'example.com/name'))
  .filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k));
const scalar = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null));
const envVar = fc.record({ name: fc.stringMatching(/^[A-Z_]{1,8}$/), value: fc.string({ maxLength: 12 }) });

const container = (name: string) =>
  fc.record(
    {
      name: fc.constant(name),
      image: fc.constantFrom('nginx:1.27', 'registry.example/app:1'),
      env: fc.uniqueArray(envVar, { selector: (e) => e.name, maxLength: 4 }),
      ports: fc.array(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 2 }),
      extra: fc.dictionary(mapKey, scalar, { maxKeys: 3 }),
    },
    { requiredKeys: ['name', 'image'] },
  );

const podArbitrary = fc
  .record({
    names: fc.uniqueArray(dnsName.filter((n) => !n.startsWith('pillion')), { minLength: 1, maxLength: 4 }),
    initNames: fc.uniqueArray(fc.constantFrom('fetch', 'migrate', 'wait-db'), { maxLength: 2 }),
    annotations: fc.option(fc.dictionary(mapKey.filter((k) => !k.startsWith('pillion.dev/')), fc.string({ maxLength: 16 }), { maxKeys: 4 }), { nil: undefined }),
    labels: fc.option(fc.dictionary(mapKey, fc.string({ maxLength: 8 }), { maxKeys: 3 }), { nil: undefined }),
    volumes: fc.uniqueArray(dnsName, { maxLength: 3 }),
    namespace: fc.option(fc.constantFrom('shop', 'default', 'team-a'), { nil: undefined }),
    managed: fc.boolean(),
    podStatus: fc.option(fc.record({ phase: fc.constantFrom('Pending', 'Running') }), { nil: undefined }),
  })
  .chain((shape) =>
    fc.record({
      containers: fc.tuple(...shape.names.map(container)),
      initContainers: fc.tuple(...shape.initNames.map(container)),
      shape: fc.constant(shape),
    }),
  )
  .map(({ containers, initContainers, shape }) => {
    const metadata: JsonObject = { name: 'generated' };
    if (shape.namespace !== undefined) metadata.namespace = shape.namespace;
    if (shape.annotations !== undefined) metadata.annotations = shape.annotations;
    if (shape.labels !== undefined) metadata.labels = shape.labels;
    if (shape.managed) metadata.managedFields = [{ manager: 'kubectl', operation: 'Update' }];
    const spec: JsonObject = { containers };
    if (initContainers.length > 0) spec.initContainers = initContainers;
    if (shape.volumes.length > 0) spec.volumes = shape.volumes.map((name) => ({ name, emptyDir: {} }));
    const pod: JsonObject = { apiVersion: 'v1', kind: 'Pod', metadata, spec };
    if (shape.podStatus !== undefined) pod.status = shape.podStatus;
    // Pods arrive as JSON (API server, manifests): plain prototypes, like fast-check's are not.
    return JSON.parse(JSON.stringify(pod)) as JsonObject;
  });

test('patch applied to the input equals the injected pod; input untouched; re-injection is a no-op', () => {
  fc.assert(
    fc.property(podArbitrary, fc.boolean(), fc.boolean(), (pod, native, hold) => {
      const config = { ...defaultInjectorConfig, nativeSidecar: native ? ('on' as const) : ('off' as const), holdApplicationUntilProxyStarts: hold };
      const s = { ...setup, config };
      const before = structuredClone(pod);
      const result = injectPod(pod, candidate, s);
      assert.deepEqual(pod, before, 'input modified');
      assert.equal(result.kind, 'injected');
      if (result.kind !== 'injected') return;
      const applied = fastJsonPatch.applyPatch(structuredClone(pod), structuredClone(result.patch) as Operation[], true, true);
      assert.deepEqual(applied.newDocument, result.pod);
      // The webhook serialises the patch reusing the template containers' cached text.
      assert.equal(stringifyJson(result.patch), JSON.stringify(result.patch));
      for (const op of result.patch) assert.ok(!/^\/(status|metadata\/managedFields)(\/|$)/.test(op.path), op.path);
      assert.deepEqual(result.pod.status, pod.status);
      const again = injectPod(result.pod, candidate, s);
      assert.equal(again.kind === 'skipped' ? again.reason : again.kind, 'already-injected');
    }),
    { numRuns: 300 },
  );
});

// Values that try to break out: YAML/JSON syntax, newlines, template syntax, quotes, huge text.
const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '80\n- name: evil\n  image: evil',
    '"}],"containers":[{"name":"evil"}]',
    '${values.proxy.image}',
    '${capture.args}',
    '$${values.init.image}',
    '{{ .Values.image }}',
    "8080' --privileged",
    '8080,\u00000',
    'true\nsecurityContext: {privileged: true}',
    '250m\nimage: evil',
    'registry.example/envoy:v1@sha256:' + '0'.repeat(64),
    '10.0.0.0/8,${values.ports.inbound}',
    'eth0,${x}',
    'x'.repeat(200_000),
  ),
  fc.stringMatching(/^[-0-9a-zA-Z.,*:/]{1,30}$/),
);

type Leaves = Map<string, string>;
/** Flatten a pod to path → leaf; named list items are addressed by name, init and app containers share one namespace. */
function flatten(value: unknown, path: string, out: Leaves): Leaves {
  if (Array.isArray(value)) {
    const named = value.every((v) => typeof v === 'object' && v !== null && typeof (v as JsonObject).name === 'string');
    value.forEach((item, i) => flatten(item, `${path}[${named ? (item as JsonObject).name as string : i}]`, out));
    if (value.length === 0) out.set(path, '[]');
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) flatten(v, `${path}.${k.replaceAll('.', '\\.')}`, out);
  } else {
    out.set(path, JSON.stringify(value));
  }
  return out;
}
function podLeaves(pod: JsonObject): Leaves {
  const spec = pod.spec as JsonObject;
  const merged = { ...pod, spec: { ...spec, containers: [...((spec.initContainers as unknown[]) ?? []), ...(spec.containers as unknown[])], initContainers: undefined } };
  return flatten(merged, '', new Map());
}

// Where each override is documented to act; any other difference is a breakout.
const allowed: Record<string, RegExp> = {
  'pillion.dev/proxy-cpu': /^\.spec\.containers\[pillion-proxy\]\.resources\./,
  'pillion.dev/proxy-memory': /^\.spec\.containers\[pillion-proxy\]\.resources\./,
  'pillion.dev/proxy-cpu-limit': /^\.spec\.containers\[pillion-proxy\]\.resources\./,
  'pillion.dev/proxy-memory-limit': /^\.spec\.containers\[pillion-proxy\]\.resources\./,
  'pillion.dev/proxy-image': /^\.spec\.containers\[pillion-proxy\]\.image$/,
  'pillion.dev/log-level': /^\.spec\.containers\[pillion-proxy\]\.args\[3\]$/,
  // A native sidecar is placed among the init containers and holds the app with its postStart
  // hook (the "hold"); a truthy value ("1", "true") turns both on.
  'pillion.dev/native-sidecar': /^\.spec\.containers\[pillion-proxy\]\.(restartPolicy|lifecycle\.postStart\.)/,
};
const initArgs = /^\.spec\.containers\[pillion-init\]\.args\[\d+\]$/;

test('no annotation value changes anything outside what that annotation documents', () => {
  const overrideKeys = knownAnnotations.filter((k) => !['pillion.dev/inject', 'pillion.dev/status', 'pillion.dev/templates'].includes(k));
  const s = { ...setup, config: { ...defaultInjectorConfig, allowImageOverride: true } };
  const basePod = { metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } };
  const baseline = injectPod(basePod, candidate, s);
  assert.equal(baseline.kind, 'injected');
  if (baseline.kind !== 'injected') return;
  fc.assert(
    fc.property(fc.constantFrom(...overrideKeys), hostile, (key, value) => {
      const pod = { ...basePod, metadata: { ...basePod.metadata, annotations: { [key]: value } } };
      let result;
      try {
        result = injectPod(pod, candidate, s);
      } catch (error) {
        assert.ok(error instanceof InjectionError, String(error));
        assert.equal(error.annotation, key);
        assert.ok(error.message.startsWith(`annotation ${key}: `));
        assert.ok(error.message.length < 1000, 'error message echoes a huge value');
        return;
      }
      assert.equal(result.kind, 'injected');
      if (result.kind !== 'injected') return;
      const want = podLeaves(baseline.pod);
      const got = podLeaves(result.pod);
      const ok = (path: string): boolean =>
        initArgs.test(path) || path.startsWith('.metadata.annotations.') || (allowed[key]?.test(path) ?? false);
      for (const [path, leaf] of got) if (!ok(path)) assert.equal(leaf, want.get(path), `${key}=${JSON.stringify(value.slice(0, 60))} changed ${path}`);
      for (const path of want.keys()) if (!ok(path)) assert.ok(got.has(path), `${key} removed ${path}`);
      // The init args are always canonical text the injector formatted itself.
      const args = ((result.pod.spec as JsonObject).initContainers as JsonObject[])[0]?.args as string[];
      for (const arg of args) assert.match(arg, /^[a-z-]+(=[-\w.,:*/]*)?$|^apply$/);
      // Annotations: only the status annotation and template ones are added, each with its baseline value.
      const annotations = (result.pod.metadata as JsonObject).annotations as Record<string, string>;
      assert.deepEqual(Object.keys(annotations).sort(), [key, ...Object.keys((baseline.pod.metadata as JsonObject).annotations as object)].sort());
      assert.equal(annotations[key], value);
    }),
    { numRuns: 1500 },
  );
});

test('rendering inserts values as data: the tree shape never depends on the values', () => {
  const template = {
    image: '${values.a}',
    args: ['--x=${values.a}', '${string:values.n}', 'lit $${values.a}'],
    nested: { both: '${values.a}${values.b}', json: '${json:values}' },
  };
  fc.assert(
    fc.property(hostile, hostile, fc.integer(), (a, b, n) => {
      const values = { a, b, n };
      const out = renderTree(template, { values }, 't') as JsonObject;
      assert.deepEqual(out, {
        image: a,
        args: [`--x=${a}`, String(n), 'lit ${values.a}'],
        nested: { both: a + b, json: JSON.stringify(values) },
      });
    }),
    { numRuns: 500 },
  );
});
