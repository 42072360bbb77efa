// What injectPod must refuse or warn about beyond single annotations: the values file, re-injection
// after an edit, uninjection, deeply nested input. (Single-pod cases live in test/fixtures/inject.)
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultInjectorConfig } from '../../../injector/core/config.js';
import { injectPod, uninjectPod } from '../../../injector/core/inject.js';
import { bundledTemplatesDir, loadTemplates } from '../../../injector/core/templates.js';
import { SetupError } from '../../../injector/core/errors.js';
import type { InjectContext, JsonObject, TemplateSet } from '../../../injector/core/types.js';
import { InjectionError } from '../../../injector/core/errors.js';
import { bundledTemplates, listFixtureCases, loadFixtureCase } from './fixture-support.js';

const ctx: InjectContext = { mode: 'candidate', namespace: 'shop', namespaceLabels: undefined };
const setup = () => ({ config: defaultInjectorConfig, templates: bundledTemplates() });

function valuesFile(t: TestContext, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-values-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'values.yaml');
  writeFileSync(file, text);
  return file;
}

const badValues: [string, string, RegExp][] = [
  ['admin port out of range', 'ports: { admin: 70000 }', /key "ports\.admin": 70000 is not a port number/],
  ['port zero', 'ports: { inbound: 0 }', /key "ports\.inbound": 0 is not a port number/],
  ['port as text', 'ports: { outbound: "15001" }', /key "ports\.outbound": "15001" is not a port number/],
  ['metrics == readiness', 'ports: { metrics: 15021 }', /key "ports\.metrics": 15021 is also ports\.readiness/],
  ['admin == outbound', 'ports: { admin: 15001 }', /key "ports\.(admin|outbound)": 15001 is also ports\.(admin|outbound)/],
  ['DNS port == inbound', 'capture: { dnsPort: 15006 }', /key "capture\.dnsPort": 15006 is also ports\.inbound/],
  ['a source address pillion-init does not let pass', 'inboundSourceAddress: 127.0.0.7', /key "inboundSourceAddress": "127\.0\.0\.7" cannot be used: pillion-init lets inbound traffic from 127\.0\.0\.6 pass and no other/],
  ['an IPv6 source address pillion-init does not let pass', 'inboundSourceAddress6: "::7"', /key "inboundSourceAddress6": "::7" cannot be used/],
  ['concurrency 0', 'proxy: { concurrency: 0 }', /key "proxy\.concurrency": 0 is not an integer from 1/],
  ['concurrency fractional', 'proxy: { concurrency: 1.5 }', /key "proxy\.concurrency"/],
  ['uid 0 (capture exempts the proxy by uid: root would be exempt too)', 'proxy: { uid: 0 }', /key "proxy\.uid"/],
  ['proxy request above limit', 'proxy: { resources: { requests: { cpu: "4" } } }', /key "proxy\.resources": cpu request 4 is above the cpu limit 2/],
  ['init memory request above limit', 'init: { resources: { requests: { memory: 1Gi } } }', /key "init\.resources": memory request 1Gi is above the memory limit 128Mi/],
];

for (const [label, text, message] of badValues) {
  test(`values: ${label} is refused at load, naming the key and the file`, (t) => {
    const file = valuesFile(t, text);
    assert.throws(
      () => loadTemplates(undefined, file),
      (error: unknown) => error instanceof SetupError && message.test(error.message) && error.message.startsWith(file),
    );
  });
}

test("values: moved but distinct ports, the former source-address keys naming pillion-init's own addresses, and equal request and limit load", (t) => {
  const file = valuesFile(t, 'ports: { admin: 25000, metrics: 25090 }\ninboundSourceAddress: 127.0.0.6\ninboundSourceAddress6: "::6"\nproxy: { resources: { requests: { cpu: "2" } } }\n');
  const set = loadTemplates(undefined, file);
  assert.deepEqual([...set.proxyTemplates], ['envoy', 'haproxy']);
});

function pod(annotations: Record<string, string> = {}): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'shop', annotations: { 'team.example/owner': 'shop', ...annotations } },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
  };
}

function injected(input: JsonObject): JsonObject {
  const result = injectPod(input, ctx, setup());
  assert.equal(result.kind, 'injected');
  return result.kind === 'injected' ? result.pod : {};
}

function withAnnotations(input: JsonObject, change: Record<string, string | undefined>): JsonObject {
  const metadata = input.metadata as JsonObject;
  const annotations: JsonObject = { ...(metadata.annotations as JsonObject) };
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) delete annotations[key];
    else annotations[key] = value;
  }
  return { ...input, metadata: { ...metadata, annotations } };
}

const initArgs = (p: JsonObject): unknown => ((p.spec as JsonObject).initContainers as JsonObject[]).find((c) => c.name === 'pillion-init')?.args;

test('re-injection applies edited annotations: strip what the status lists, inject anew', () => {
  const first = injected(pod());
  // Unchanged: already injected.
  const again = injectPod(first, ctx, setup());
  assert.equal(again.kind, 'skipped');
  assert.equal(again.kind === 'skipped' ? again.reason : '', 'already-injected');

  // An added override annotation takes effect.
  const edited = withAnnotations(first, { 'pillion.dev/exclude-inbound-ports': '9000' });
  const second = injectPod(edited, ctx, setup());
  assert.equal(second.kind, 'injected');
  if (second.kind !== 'injected') return;
  assert.match(JSON.stringify(initArgs(second.pod)), /9000/);
  assert.ok(second.warnings.some((w) => w.startsWith('re-injecting: the pod changed')), second.warnings.join('\n'));
  // Exactly one proxy and one init container, wherever they were.
  const spec = second.pod.spec as JsonObject;
  const all = [...(spec.initContainers as JsonObject[]), ...(spec.containers as JsonObject[])].map((c) => c.name);
  assert.deepEqual(all.sort(), ['app', 'pillion-init', 'pillion-proxy']);

  // Switching template and placement replaces the old proxy rather than adding a second.
  const switched = injectPod(withAnnotations(second.pod, { 'pillion.dev/templates': 'haproxy', 'pillion.dev/native-sidecar': 'true' }), ctx, setup());
  assert.equal(switched.kind, 'injected');
  if (switched.kind !== 'injected') return;
  const switchedSpec = switched.pod.spec as JsonObject;
  assert.deepEqual((switchedSpec.containers as JsonObject[]).map((c) => c.name), ['app']);
  assert.deepEqual((switchedSpec.initContainers as JsonObject[]).map((c) => c.name), ['pillion-init', 'pillion-proxy']);
  assert.match(String((switchedSpec.initContainers as JsonObject[])[1]?.image), /haproxy/);

  // Removing the override goes back to the first injection exactly.
  const back = injectPod(withAnnotations(second.pod, { 'pillion.dev/exclude-inbound-ports': undefined }), ctx, setup());
  assert.equal(back.kind, 'injected');
  if (back.kind === 'injected') assert.deepEqual(back.pod, first);

  // An edit that is invalid is an error naming the annotation, even on an injected pod.
  assert.throws(
    () => injectPod(withAnnotations(first, { 'pillion.dev/proxy-cpu': '4' }), ctx, setup()),
    (e: unknown) => e instanceof InjectionError && e.annotation === 'pillion.dev/proxy-cpu',
  );
});

test('uninjectPod gives back every fixture input from its injected pod, and skips pods Pillion did not inject', () => {
  let checked = 0;
  for (const name of listFixtureCases()) {
    const fixture = loadFixtureCase(name);
    const annotations = ((fixture.input.metadata as JsonObject | undefined)?.annotations ?? {}) as JsonObject;
    if (Object.hasOwn(annotations, 'pillion.dev/status')) continue; // an earlier injection: not the original
    let result;
    try {
      result = injectPod(fixture.input, fixture.ctx, fixture.setup);
    } catch {
      continue;
    }
    if (result.kind !== 'injected') continue;
    const removed = uninjectPod(result.pod);
    assert.equal(removed.kind, 'uninjected', name);
    if (removed.kind === 'uninjected') assert.deepEqual(removed.pod, fixture.input, `${name}: uninject(inject(pod)) is not the pod`);
    checked++;
  }
  assert.ok(checked >= 30, `only ${checked} fixtures checked`);
  const plain = uninjectPod(pod());
  assert.equal(plain.kind, 'skipped');
  assert.equal(plain.kind === 'skipped' ? plain.reason : '', 'not-injected');
});

test('a deeply nested pod is refused in words, not with a stack overflow', () => {
  let deep: JsonObject = { leaf: true };
  for (let i = 0; i < 200_000; i++) deep = { x: deep };
  const input = { ...pod(), spec: { containers: [{ name: 'app', image: 'a:1', env: [{ name: 'X', valueFrom: deep }] }] } };
  assert.throws(() => injectPod(input, ctx, setup()), (e: unknown) => e instanceof InjectionError && /nested more than 64 levels/.test(e.message));
  assert.throws(() => uninjectPod(input), (e: unknown) => e instanceof InjectionError && /nested more than 64 levels/.test(e.message));
});

test('a pod exactly 64 levels deep (lists count as levels) is accepted, one level more is refused', () => {
  const nested = (levels: number): unknown => {
    let value: unknown = 'leaf';
    for (let i = 0; i < levels; i++) value = i % 2 === 0 ? { x: value } : [value];
    return value;
  };
  // pod, spec, containers, container: 4 levels before the nested value's.
  const at = (levels: number) => ({ spec: { containers: [{ name: 'app', image: 'a:1', x: nested(levels - 4) }] } });
  assert.equal(uninjectPod(at(64)).kind, 'skipped');
  assert.throws(() => uninjectPod(at(65)), (e: unknown) => e instanceof InjectionError && /nested more than 64 levels/.test(e.message));
});

test('a pod that other pods of its input show native sidecars for gets a native proxy', () => {
  const result = injectPod(pod(), { ...ctx, nativeSidecarsInUse: true }, setup());
  assert.equal(result.kind, 'injected');
  if (result.kind !== 'injected') return;
  const init = (result.pod.spec as JsonObject).initContainers as JsonObject[];
  assert.deepEqual(init.map((c) => [c.name, c.restartPolicy]), [['pillion-init', undefined], ['pillion-proxy', 'Always']]);
  // nativeSidecar: off in the config still wins.
  const off = injectPod(pod(), { ...ctx, nativeSidecarsInUse: true }, { ...setup(), config: { ...defaultInjectorConfig, nativeSidecar: 'off' } });
  assert.equal(off.kind === 'injected' && ((off.pod.spec as JsonObject).containers as JsonObject[]).some((c) => c.name === 'pillion-proxy'), true);
});

function withProbes(annotations: Record<string, string>, app: JsonObject): JsonObject {
  const p = pod(annotations);
  (p.spec as JsonObject).containers = [{ name: 'app', image: 'registry.example/app:1', ports: [{ name: 'http', containerPort: 8080 }], ...app }];
  return p;
}

function tcpProbeWarningsOf(input: JsonObject, s: ReturnType<typeof setup> = setup()): string[] {
  const result = injectPod(input, ctx, s);
  assert.equal(result.kind, 'injected');
  return result.warnings.filter((w) => w.includes('tcpSocket'));
}

test('a tcpSocket probe on a captured port draws a warning (the proxy would answer it); excluded ports, the proxy-excluded ssh port and HTTP probes do not', () => {
  const warningsOf = (input: JsonObject): string[] => tcpProbeWarningsOf(input);
  // By number and by the container's port name; each probe kind is named.
  assert.deepEqual(warningsOf(withProbes({}, { readinessProbe: { tcpSocket: { port: 8080 } }, livenessProbe: { tcpSocket: { port: 'http' } } })), [
    'container app: its tcpSocket readinessProbe on port 8080 reaches the proxy, which accepts the connection whether or not the app listens, so the probe passes once the proxy is up: use an httpGet, grpc or exec probe, or exclude the port (pillion.dev/exclude-inbound-ports)',
    'container app: its tcpSocket livenessProbe on port 8080 reaches the proxy, which accepts the connection whether or not the app listens, so the probe passes once the proxy is up: use an httpGet, grpc or exec probe, or exclude the port (pillion.dev/exclude-inbound-ports)',
  ]);
  // What the capture rules let pass is probed directly: an excluded port, a port outside a
  // chosen list, ssh (never captured with "*").
  assert.deepEqual(warningsOf(withProbes({ 'pillion.dev/exclude-inbound-ports': '8080' }, { readinessProbe: { tcpSocket: { port: 8080 } } })), []);
  assert.deepEqual(warningsOf(withProbes({ 'pillion.dev/inbound-ports': '9090' }, { readinessProbe: { tcpSocket: { port: 8080 } } })), []);
  assert.deepEqual(warningsOf(withProbes({}, { livenessProbe: { tcpSocket: { port: 22 } } })), []);
  assert.deepEqual(warningsOf(withProbes({}, { readinessProbe: { httpGet: { path: '/', port: 8080 } } })), []);
});

/** The bundled templates, copied, with envoy.yaml's text changed by `edit` (which must change it). */
function withEditedEnvoy(t: TestContext, edit: (text: string) => string): TemplateSet {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-probe-templates-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(bundledTemplatesDir, dir, { recursive: true });
  const envoy = readFileSync(join(dir, 'envoy.yaml'), 'utf8');
  const edited = edit(envoy);
  assert.notEqual(edited, envoy);
  writeFileSync(join(dir, 'envoy.yaml'), edited);
  return loadTemplates(dir);
}

test("the probe warning follows what the capture container really runs with: its env's PILLION_ settings, and CNI mode's flags", (t) => {
  const probed = withProbes({}, { readinessProbe: { tcpSocket: { port: 8080 } } });
  // The kubelet's probe comes in on eth0; a capture container told to leave eth0 alone (by env,
  // as pillion-init reads it) captures nothing there, so there is nothing to warn about.
  const templates = withEditedEnvoy(t, (envoy) => envoy.replace('        args: "${capture.args}"\n', '        args: "${capture.args}"\n        env:\n          - { name: PILLION_EXCLUDE_INTERFACES, value: eth0 }\n'));
  assert.deepEqual(tcpProbeWarningsOf(probed, { config: defaultInjectorConfig, templates }), []);
  // The bundled templates capture 8080 in both modes.
  assert.equal(tcpProbeWarningsOf(probed).length, 1);
  assert.equal(tcpProbeWarningsOf(probed, { config: { ...defaultInjectorConfig, captureMode: 'cni' }, templates: bundledTemplates() }).length, 1);
});

test('templates that add no capture container capture nothing: no probe warning in either mode', (t) => {
  const probed = withProbes({}, { readinessProbe: { tcpSocket: { port: 8080 } } });
  const templates = withEditedEnvoy(t, (envoy) => {
    const start = envoy.indexOf('    initContainers:\n');
    const end = envoy.indexOf('    containers:\n');
    assert.ok(start > 0 && end > start);
    return envoy.slice(0, start) + envoy.slice(end);
  });
  for (const captureMode of ['init', 'cni'] as const) {
    const result = injectPod(probed, ctx, { config: { ...defaultInjectorConfig, captureMode }, templates });
    assert.equal(result.kind, 'injected', captureMode);
    if (result.kind !== 'injected') continue;
    const init = ((result.pod.spec as JsonObject).initContainers as JsonObject[] | undefined) ?? [];
    assert.deepEqual(init.map((c) => c.name).filter((n) => n !== 'pillion-proxy'), [], `${captureMode}: no capture or validation container was added`);
    assert.deepEqual(result.warnings.filter((w) => w.includes('tcpSocket')), [], captureMode);
  }
});

test('an app port the proxy listens on draws a warning naming both sides (the capture ports and the proxy\'s declared ports; TCP only)', () => {
  const input = pod({});
  (input.spec as JsonObject).initContainers = [{ name: 'migrate', image: 'registry.example/migrate:1', ports: [{ containerPort: 15006 }] }];
  (input.spec as JsonObject).containers = [{
    name: 'app', image: 'registry.example/app:1',
    ports: [{ containerPort: 8080 }, { containerPort: 15090, name: 'metrics' }, { containerPort: 15001, protocol: 'UDP' }, { containerPort: 15021, protocol: 'TCP' }],
  }];
  for (const template of bundledTemplates().proxyTemplates) {
    const result = injectPod({ ...input, metadata: { ...(input.metadata as JsonObject), annotations: { 'pillion.dev/templates': template } } }, ctx, setup());
    assert.equal(result.kind, 'injected');
    const way = 'in the pod\'s one network namespace only one of them can bind it; move the app\'s port, or the proxy\'s (values.yaml ports)';
    assert.deepEqual(result.warnings.filter((w) => w.includes('which the proxy listens on')), [
      `container migrate declares port 15006, which the proxy listens on (the inbound capture port): ${way}`,
      `container app declares port 15090, which the proxy listens on (port pillion-metrics): ${way}`,
      `container app declares port 15021, which the proxy listens on (port pillion-ready): ${way}`,
    ], template);
  }
  // Ports moved in values.yaml move the warning with them: a pod with none of them draws none.
  const quiet = injectPod(pod({}), ctx, setup());
  assert.equal(quiet.kind, 'injected');
  assert.ok(!quiet.warnings.some((w) => w.includes('which the proxy listens on')));
});

test('annotations that injection would push past the API server\'s 256 KiB are refused in words; just under the bound is injected', () => {
  const base = injectPod(structuredClone(podWithAnnotations({})), ctx, setup());
  assert.equal(base.kind, 'injected');
  if (base.kind !== 'injected') return;
  const added = Object.entries((base.pod.metadata as JsonObject).annotations as Record<string, string>).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  const key = 'kubectl.kubernetes.io/last-applied-configuration';
  const fits = 256 * 1024 - added - Buffer.byteLength(key);
  assert.equal(injectPod(podWithAnnotations({ [key]: 'x'.repeat(fits) }), ctx, setup()).kind, 'injected', 'exactly at the bound');
  assert.throws(
    () => injectPod(podWithAnnotations({ [key]: 'x'.repeat(fits + 1) }), ctx, setup()),
    (e: unknown) => e instanceof InjectionError && /^metadata\.annotations would total 262145 bytes with Pillion's, more than the 262144 the API server accepts/.test(e.message),
  );
});

test('a pod that only Windows nodes can run (nodeSelector or required node affinity on kubernetes.io/os) is skipped as windows-pod; a Linux or either-OS pod is not', () => {
  const os = 'kubernetes.io/os';
  const affinity = (...terms: unknown[]): JsonObject => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } });
  const term = (values: string[], operator = 'In'): JsonObject => ({ matchExpressions: [{ key: os, operator, values }] });
  const skipped: [JsonObject, RegExp][] = [
    [{ nodeSelector: { [os]: 'windows' } }, /nodeSelector kubernetes\.io\/os: windows/],
    [{ affinity: affinity(term(['windows'])) }, /required node affinity kubernetes\.io\/os In \[windows\]/],
    [{ affinity: affinity(term(['windows']), term(['windows'])) }, /required node affinity/],
  ];
  for (const [spec, detail] of skipped) {
    const result = injectPod(podWithSpec(spec), ctx, setup());
    assert.equal(result.kind, 'skipped', JSON.stringify(spec));
    if (result.kind !== 'skipped') continue;
    assert.equal(result.reason, 'windows-pod');
    assert.match(result.detail, detail);
    assert.ok(result.warnings.some((w) => w.startsWith('not injected: pod runs on Windows')));
  }
  const injected: JsonObject[] = [
    { nodeSelector: { [os]: 'linux' } },
    { affinity: affinity(term(['windows', 'linux'])) },
    { affinity: affinity(term(['windows']), term(['linux'])) },
    { affinity: affinity(term(['windows'], 'NotIn')) },
    { securityContext: { windowsOptions: { runAsUserName: 'ContainerUser' } } },
  ];
  for (const spec of injected) assert.equal(injectPod(podWithSpec(spec), ctx, setup()).kind, 'injected', JSON.stringify(spec));
});

function podWithAnnotations(annotations: Record<string, string>): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop', annotations }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } };
}

function podWithSpec(spec: JsonObject): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }], ...spec } };
}

test('a proxy request just above its limit is refused as the API server compares quantities: exactly, rounding up to the nano-unit', () => {
  const refused = (annotations: Record<string, string>): boolean => {
    try {
      injectPod(podWithAnnotations(annotations), ctx, setup());
      return false;
    } catch (error) {
      return error instanceof InjectionError && /above its limit/.test(error.message);
    }
  };
  // The bundled proxy's cpu limit is 2.
  assert.equal(refused({ 'pillion.dev/proxy-cpu': '2.0000000000000001' }), true, 'a float reads this as 2');
  assert.equal(refused({ 'pillion.dev/proxy-cpu': '2' }), false);
  assert.equal(refused({ 'pillion.dev/proxy-memory': '1000000000000000001', 'pillion.dev/proxy-memory-limit': '1e18' }), true);
  assert.equal(refused({ 'pillion.dev/proxy-memory': '1e18', 'pillion.dev/proxy-memory-limit': '1000000000000000000' }), false);
});

test('containers that run as the proxy\'s uid or gid (their own setting or the pod\'s) draw a warning: their traffic bypasses the proxy; init containers that run to completion do not', () => {
  const warningsOf = (spec: JsonObject): string[] => {
    const result = injectPod(podWithSpec(spec), ctx, setup());
    assert.equal(result.kind, 'injected');
    return result.kind === 'injected' ? result.warnings.filter((w) => w.includes("run as the proxy's uid")) : [];
  };
  const app = (securityContext: JsonObject = {}): JsonObject => ({ name: 'app', image: 'registry.example/app:1', securityContext });
  assert.deepEqual(warningsOf({ containers: [app({ runAsUser: 1337 })] }), [
    "containers app run as the proxy's uid 1337 or gid 1337, whose traffic the capture leaves alone: theirs bypasses the proxy; run them as another uid and gid",
  ]);
  assert.equal(warningsOf({ securityContext: { runAsUser: 1337 }, containers: [app()] }).length, 1, 'the pod\'s uid');
  assert.equal(warningsOf({ securityContext: { runAsGroup: 1337 }, containers: [app()] }).length, 1, 'the pod\'s gid');
  assert.equal(warningsOf({ securityContext: { runAsUser: 1337 }, containers: [app({ runAsUser: 1000, runAsGroup: 1000 })] }).length, 0, 'the container\'s own ids win');
  assert.equal(warningsOf({ initContainers: [{ name: 'migrate', image: 'm', securityContext: { runAsUser: 1337 } }], containers: [app()] }).length, 0, 'an init container that runs to completion');
  assert.match(warningsOf({ initContainers: [{ name: 'vault', image: 'v', restartPolicy: 'Always', securityContext: { runAsUser: 1337 } }], containers: [app()] })[0] ?? '', /^containers vault run as/);
});

test('with a regular-container proxy, the pod\'s own native sidecars draw a warning: they start before it with capture on', () => {
  const pod = podWithSpec({ initContainers: [{ name: 'vault', image: 'v', restartPolicy: 'Always' }] });
  const regular = injectPod(structuredClone(pod), ctx, { config: { ...defaultInjectorConfig, nativeSidecar: 'off' }, templates: bundledTemplates() });
  assert.equal(regular.kind, 'injected');
  if (regular.kind !== 'injected') return;
  assert.ok(regular.warnings.some((w) => /^native sidecars vault start before the proxy \(a regular container\) with capture on/.test(w)), regular.warnings.join('\n'));
  const native = injectPod(structuredClone(pod), ctx, { config: { ...defaultInjectorConfig, nativeSidecar: 'on' }, templates: bundledTemplates() });
  assert.equal(native.kind, 'injected');
  if (native.kind === 'injected') assert.ok(!native.warnings.some((w) => w.startsWith('native sidecars')));
});
