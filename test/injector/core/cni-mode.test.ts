// The injector's CNI mode (captureMode: cni): the status record the pillion-cni plugin reads gives
// the same capture settings (so the same rules) as the init container would have run with, for
// every bundled template combination; the validation container is unprivileged and in the right
// place; the pod passes Pod Security "restricted"; uninject removes what CNI mode added.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { decideFromAnnotations } from '../../../cni/pod/contract.js';
import { formatCaptureFlags } from '../../../injector/core/capture.js';
import { defaultInjectorConfig } from '../../../injector/core/config.js';
import { InjectionError, SetupError } from '../../../injector/core/errors.js';
import { injectPod, uninjectPod } from '../../../injector/core/inject.js';
import { bundledTemplatesDir, loadTemplates } from '../../../injector/core/templates.js';
import type { InjectorConfig, InjectorSetup, JsonObject, TemplateSet } from '../../../injector/core/types.js';
import { ordinaryId, parseCaptureConfig, planCaptureRules, renderRestore, type CaptureConfig } from '../../../init/index.js';
import { bundledTemplates } from './fixture-support.js';

const ctx = { mode: 'candidate', namespace: 'shop', namespaceLabels: undefined } as const;
const seed = Number(process.env.FC_SEED ?? 20260412);

function setup(config: Partial<InjectorConfig>, templates: TemplateSet = bundledTemplates()): InjectorSetup {
  return { config: { ...defaultInjectorConfig, ...config }, templates };
}

function podWith(annotations: Record<string, string>, spec: JsonObject = {}, podSecurity?: JsonObject): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'shop', annotations },
    spec: {
      ...(podSecurity === undefined ? {} : { securityContext: podSecurity }),
      ...spec,
      containers: [{ name: 'app', image: 'registry.example/app:1', ...(podSecurity === undefined ? {} : { securityContext: restrictedContainer }) }],
    },
  };
}

function inject(pod: JsonObject, s: InjectorSetup): JsonObject {
  const result = injectPod(pod, ctx, s);
  assert.equal(result.kind, 'injected', result.kind === 'skipped' ? result.detail : '');
  return result.kind === 'injected' ? result.pod : {};
}

const listOf = (pod: JsonObject, key: 'initContainers' | 'containers'): JsonObject[] => ((pod.spec as JsonObject)[key] as JsonObject[] | undefined) ?? [];
const annotationsOf = (pod: JsonObject): Record<string, string> => (pod.metadata as JsonObject).annotations as Record<string, string>;

/** What pillion-init in the init-mode pod's capture container parses: its args and its env. */
function initModeConfig(pod: JsonObject): CaptureConfig {
  const init = listOf(pod, 'initContainers').find((c) => c.name === 'pillion-init');
  assert.ok(init, 'init mode has the capture init container');
  const args = init.args as string[];
  assert.equal(args[0], 'apply');
  const env = Object.fromEntries(((init.env as { name: string; value: string }[] | undefined) ?? []).map((e) => [e.name, e.value]));
  return parseCaptureConfig(args.slice(1), env);
}

/** Every proxy template alone and with every add-on template. */
function combinations(set: TemplateSet): string[][] {
  const addOns = set.names.filter((n) => !set.proxyTemplates.includes(n));
  return set.proxyTemplates.flatMap((proxy) => [[proxy], ...addOns.map((addOn) => [proxy, addOn])]);
}

const annotationSets: Record<string, string>[] = [
  {},
  { 'pillion.dev/redirect-dns': 'true', 'pillion.dev/exclude-outbound-cidrs': '10.0.0.0/8, 192.168.0.0/16', 'pillion.dev/exclude-interfaces': 'eth1' },
  { 'pillion.dev/inbound-ports': '8080,9000-9100', 'pillion.dev/outbound-ports': '80,443', 'pillion.dev/outbound-cidrs': '10.96.0.0/12', 'pillion.dev/exclude-outbound-ports': '3306' },
  { 'pillion.dev/exclude-inbound-ports': '22,8443', 'pillion.dev/redirect-dns': 'off' },
];

function assertSameCapture(templates: readonly string[], annotations: Record<string, string>): void {
  const pod = podWith({ ...annotations, 'pillion.dev/templates': templates.join(',') });
  const initPod = inject(pod, setup({ captureMode: 'init' }));
  const cniPod = inject(pod, setup({ captureMode: 'cni' }));
  const want = initModeConfig(initPod);
  const decision = decideFromAnnotations(annotationsOf(cniPod));
  const what = `${templates.join(',')} ${JSON.stringify(annotations)}`;
  assert.ok(decision.capture, `${what}: the plugin captures the CNI-mode pod`);
  if (!decision.capture) return;
  assert.deepEqual(decision.config, want, `${what}: same CaptureConfig`);
  for (const family of [4, 6] as const) {
    assert.equal(renderRestore(planCaptureRules(decision.config), family), renderRestore(planCaptureRules(want), family), `${what}: same IPv${family} rules`);
  }
  const names = (p: JsonObject): unknown[] => [...listOf(p, 'initContainers'), ...listOf(p, 'containers')].map((c) => c.name);
  assert.ok(!names(cniPod).includes('pillion-init'), `${what}: no capture init container in CNI mode`);
  const validation = listOf(cniPod, 'initContainers').find((c) => c.name === 'pillion-validation');
  assert.ok(validation, `${what}: a validation container`);
  assert.deepEqual(validation.args, ['validate', ...decision.args], `${what}: validate checks the recorded settings`);
  assert.deepEqual(parseCaptureConfig(validation.args.slice(1), {}), want);
}

test('for every bundled template combination the plugin\'s record gives the init container\'s CaptureConfig (args and env)', () => {
  const set = bundledTemplates();
  assert.ok(combinations(set).length >= 4, 'envoy and haproxy, alone and with proxy-logs');
  for (const templates of combinations(set)) {
    for (const annotations of annotationSets) assertSameCapture(templates, annotations);
  }
  // haproxy's PILLION_IPV6=off, an env var of its init container, is a flag in CNI mode.
  const haproxy = inject(podWith({ 'pillion.dev/templates': 'haproxy' }), setup({ captureMode: 'cni' }));
  const decision = decideFromAnnotations(annotationsOf(haproxy));
  assert.ok(decision.capture && decision.args.includes('--ipv6=off') && decision.config.ipv6 === 'off');
});

test('property: random capture annotations give the same CaptureConfig in both modes', () => {
  const port = fc.integer({ min: 1, max: 65535 });
  const range = fc.tuple(port, port).map(([a, b]) => (a === b ? String(a) : `${Math.min(a, b)}-${Math.max(a, b)}`));
  const ports = fc.array(range, { minLength: 1, maxLength: 3 }).map((r) => r.join(','));
  const v4 = fc.tuple(fc.ipV4(), fc.integer({ min: 8, max: 32 })).map(([a, p]) => `${a}/${p}`);
  const annotations = fc.record({
    'pillion.dev/inbound-ports': fc.oneof(fc.constant('*'), ports),
    'pillion.dev/exclude-inbound-ports': ports,
    'pillion.dev/outbound-cidrs': fc.oneof(fc.constant('*'), fc.array(v4, { minLength: 1, maxLength: 2 }).map((c) => c.join(','))),
    'pillion.dev/exclude-outbound-cidrs': fc.array(v4, { maxLength: 2 }).map((c) => c.join(',')),
    'pillion.dev/outbound-ports': fc.oneof(fc.constant('*'), ports),
    'pillion.dev/exclude-outbound-ports': ports,
    'pillion.dev/redirect-dns': fc.constantFrom('true', 'false'),
  }, { requiredKeys: [] });
  const templates = fc.constantFrom(...combinations(bundledTemplates()));
  fc.assert(fc.property(templates, annotations, (t, a) => assertSameCapture(t, a)), { seed, numRuns: 60 });
});

test('formatCaptureFlags writes flags pillion-init parses back, with an empty environment, to the same config', () => {
  const configs = [
    parseCaptureConfig([], {}),
    parseCaptureConfig(['--ipv6=off', '--backend=legacy', '--exclude-inbound-ports='], {}),
    parseCaptureConfig([], { PILLION_DNS_PORT: '15054', PILLION_IPV6: 'on', PILLION_PROXY_GID: '2000' }),
    parseCaptureConfig(['--redirect-dns', '--dns-port=5353', '--outbound-cidrs=10.0.0.0/8,fd00::/8', '--outbound-ports=80,8000-8100'], {}),
  ];
  for (const config of configs) assert.deepEqual(parseCaptureConfig(formatCaptureFlags(config), {}), config);
});

// Pod Security Standards, "restricted" profile: the checks that concern containers and volumes.
const restrictedContainer = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true };
const allowedVolumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

function restrictedViolations(pod: JsonObject): string[] {
  const spec = pod.spec as JsonObject;
  const podSc = (spec.securityContext as JsonObject | undefined) ?? {};
  const problems: string[] = [];
  for (const c of [...listOf(pod, 'initContainers'), ...listOf(pod, 'containers')]) {
    const sc = (c.securityContext as JsonObject | undefined) ?? {};
    const caps = (sc.capabilities as { add?: string[]; drop?: string[] } | undefined) ?? {};
    const name = String(c.name);
    if (sc.privileged === true) problems.push(`${name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${name}: allowPrivilegeEscalation is not false`);
    if (!(caps.drop ?? []).includes('ALL')) problems.push(`${name}: does not drop ALL capabilities`);
    for (const cap of caps.add ?? []) if (cap !== 'NET_BIND_SERVICE') problems.push(`${name}: adds ${cap}`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${name}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) problems.push(`${name}: runAsUser 0`);
    const seccomp = ((sc.seccompProfile ?? podSc.seccompProfile) as JsonObject | undefined)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${name}: no RuntimeDefault seccomp profile`);
    for (const port of (c.ports as JsonObject[] | undefined) ?? []) if (port.hostPort !== undefined) problems.push(`${name}: hostPort`);
  }
  for (const volume of (spec.volumes as JsonObject[] | undefined) ?? []) {
    const kind = Object.keys(volume).find((k) => k !== 'name');
    if (kind === undefined || !allowedVolumes.includes(kind)) problems.push(`volume ${String(volume.name)}: ${String(kind)}`);
  }
  return problems;
}

/** A pod that meets "restricted" with seccomp and runAsNonRoot once at pod level, or on each of its own containers. */
function restrictedPod(annotations: Record<string, string>, level: 'pod' | 'container'): JsonObject {
  const seccompProfile = { type: 'RuntimeDefault' };
  if (level === 'pod') return podWith(annotations, {}, { runAsNonRoot: true, seccompProfile });
  const pod = podWith(annotations);
  (pod.spec as JsonObject).containers = [{ name: 'app', image: 'registry.example/app:1', securityContext: { ...restrictedContainer, seccompProfile } }];
  return pod;
}

test('a restricted-compliant pod stays compliant in CNI mode (every template, native sidecar or not); init mode is not', () => {
  for (const templates of combinations(bundledTemplates())) {
    for (const nativeSidecar of ['on', 'off'] as const) {
      for (const level of ['pod', 'container'] as const) {
        const pod = restrictedPod({ 'pillion.dev/templates': templates.join(',') }, level);
        assert.deepEqual(restrictedViolations(pod), [], 'the input is compliant');
        const cni = inject(pod, setup({ captureMode: 'cni', nativeSidecar }));
        assert.deepEqual(restrictedViolations(cni), [], `${templates.join(',')}, native ${nativeSidecar}, ${level} level`);
        const init = inject(pod, setup({ captureMode: 'init', nativeSidecar }));
        assert.match(restrictedViolations(init).join('\n'), /pillion-init: adds NET_ADMIN/);
      }
    }
  }
  // The validation container needs no pod-level help: it is compliant on its own.
  const bare = inject(podWith({}), setup({ captureMode: 'cni' }));
  const validationOnly = { spec: { containers: listOf(bare, 'initContainers').filter((c) => c.name === 'pillion-validation') } };
  assert.deepEqual(restrictedViolations(validationOnly), []);
});

test('the validation container: pillion-init\'s image, an ordinary uid and gid, nothing privileged, and its failure in the termination message', () => {
  const pod = inject(podWith({}), setup({ captureMode: 'cni' }));
  const validation = listOf(pod, 'initContainers').find((c) => c.name === 'pillion-validation');
  assert.ok(validation);
  const values = bundledTemplates().values as { init: { image: string; resources: unknown }; proxy: { uid: number; gid: number } };
  assert.equal(validation.image, values.init.image);
  assert.deepEqual(validation.resources, values.init.resources);
  assert.equal(validation.terminationMessagePolicy, 'FallbackToLogsOnError');
  assert.deepEqual(validation.securityContext, {
    runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true, privileged: false, allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.equal(validation.volumeMounts, undefined, 'it writes nothing');
  assert.ok(!((pod.spec as JsonObject).volumes as JsonObject[] | undefined ?? []).some((v) => v.name === 'pillion-init-run'), 'the capture container\'s /run volume went with it');
  assert.equal(ordinaryId(1337, 1337), 65534);
  assert.equal(ordinaryId(65534, 65533), 65532, 'neither the proxy\'s uid nor its gid');
});

test('a proxy whose uid or gid is 65534 gets a validation container running as another id', (t) => {
  const dir = mkdtempSync(join(tmpdir(), `pillion-cni-mode-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const values = join(dir, 'values.yaml');
  writeFileSync(values, 'proxy:\n  uid: 65534\n  gid: 65533\n');
  const pod = inject(podWith({}), setup({ captureMode: 'cni' }, loadTemplates(bundledTemplatesDir, values)));
  const validation = listOf(pod, 'initContainers').find((c) => c.name === 'pillion-validation');
  assert.deepEqual([(validation?.securityContext as JsonObject).runAsUser, (validation?.securityContext as JsonObject).runAsGroup], [65532, 65532]);
  assert.ok((validation?.args as string[]).includes('--proxy-uid=65534'));
});

test('a held native-sidecar proxy checks capture in its hook, so the pod gets no validation container; otherwise validation runs before the proxy listens and before app init containers', () => {
  const spec = { initContainers: [{ name: 'migrate', image: 'registry.example/migrate:1' }] };
  const names = (p: JsonObject, key: 'initContainers' | 'containers'): unknown[] => listOf(p, key).map((c) => c.name);
  const native = inject(podWith({}, spec), setup({ captureMode: 'cni', nativeSidecar: 'on' }));
  assert.deepEqual(names(native, 'initContainers'), ['pillion-proxy', 'migrate']);
  const regular = inject(podWith({}, spec), setup({ captureMode: 'cni', nativeSidecar: 'off' }));
  assert.deepEqual(names(regular, 'initContainers'), ['pillion-validation', 'migrate']);
  assert.deepEqual(names(regular, 'containers'), ['app', 'pillion-proxy']);
  // A regular container's failed postStart does not stop the kubelet starting the next one: the
  // hook may not stand in for validation there, and carries no check.
  const held = inject(podWith({}), setup({ captureMode: 'cni', nativeSidecar: 'off', holdApplicationUntilProxyStarts: true }));
  assert.deepEqual(names(held, 'initContainers'), ['pillion-validation']);
  assert.deepEqual(names(held, 'containers'), ['pillion-proxy', 'app']);
  assert.deepEqual(hookOf(listOf(held, 'containers')[0]), bundledTemplates().holdCommand);
});

function hookOf(container: JsonObject | undefined): unknown {
  return (container?.lifecycle as { postStart?: { exec?: { command?: unknown } } } | undefined)?.postStart?.exec?.command;
}

function envOf(container: JsonObject | undefined): JsonObject[] {
  return (container?.env as JsonObject[] | undefined) ?? [];
}

function proxyOf(pod: JsonObject): JsonObject | undefined {
  return listOf(pod, 'initContainers').find((c) => c.name === 'pillion-proxy');
}

test("the hook's capture check: a port the hairpin redirects, the families the plugin captures, the termination-message file, and the pod's addresses", () => {
  const hold = bundledTemplates().holdCommand;
  const cases: [Record<string, string>, string, string][] = [
    [{}, '18080', '4,6'],
    [{ 'pillion.dev/templates': 'haproxy' }, '18080', '4'], // haproxy's PILLION_IPV6=off
    [{ 'pillion.dev/exclude-inbound-ports': '18080' }, '28080', '4,6'],
    [{ 'pillion.dev/inbound-ports': '9000' }, '9000', '4,6'],
  ];
  for (const [annotations, port, families] of cases) {
    const proxy = proxyOf(inject(podWith(annotations), setup({ captureMode: 'cni', nativeSidecar: 'on' })));
    assert.deepEqual(hookOf(proxy), [...hold, port, families, '/dev/termination-log'], JSON.stringify(annotations));
    assert.deepEqual(envOf(proxy).find((e) => e.name === 'PILLION_POD_IPS'), { name: 'PILLION_POD_IPS', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } });
  }
  // Init mode: pillion-init itself installed the rules before the proxy starts; nothing to check.
  const init = proxyOf(inject(podWith({}), setup({ captureMode: 'init', nativeSidecar: 'on' })));
  assert.deepEqual(hookOf(init), hold);
  assert.equal(envOf(init).some((e) => e.name === 'PILLION_POD_IPS'), false);
});

test('the validation container stays when the hook cannot check: a startupProbe or postStart of the template, a hold.command of the user\'s, no hairpin port', (t) => {
  const edited = (edit: (dir: string) => void): TemplateSet => {
    const dir = mkdtempSync(join(tmpdir(), 'pillion-cni-hold-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(bundledTemplatesDir, dir, { recursive: true });
    edit(dir);
    return loadTemplates(dir);
  };
  const replace = (file: string, from: string, to: string) => (dir: string): void => {
    const text = readFileSync(join(dir, file), 'utf8');
    assert.ok(text.includes(from), `${file} has ${from}`);
    writeFileSync(join(dir, file), text.replace(from, to));
  };
  const sets: [string, TemplateSet][] = [
    // Values merge key by key: an override of the command alone must not inherit the check's duty.
    ['a --values override of hold.command', ((): TemplateSet => {
      const dir = mkdtempSync(join(tmpdir(), 'pillion-cni-values-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'values.yaml'), 'hold:\n  command: [/bin/sh, -c, "exit 0", wait, "15021"]\n');
      return loadTemplates(bundledTemplatesDir, join(dir, 'values.yaml'));
    })()],
    ['a template postStart', edited(replace('envoy.yaml', '        readinessProbe:', '        lifecycle:\n          postStart:\n            exec:\n              command: [/bin/true]\n        readinessProbe:'))],
    ['a template startupProbe', edited(replace('envoy.yaml', '        readinessProbe:', '        startupProbe:\n          httpGet: { path: /healthz/ready, port: 15021 }\n        readinessProbe:'))],
  ];
  const bundled = bundledTemplates();
  const cases: [string, TemplateSet, Record<string, string>][] = [
    ...sets.map(([what, templates]): [string, TemplateSet, Record<string, string>] => [what, templates, {}]),
    // Only the proxy's own (excluded) ports captured inbound: no port the hairpin redirects.
    ['no hairpin port', bundled, { 'pillion.dev/inbound-ports': '15021' }],
  ];
  for (const [what, templates, annotations] of cases) {
    const pod = inject(podWith(annotations), setup({ captureMode: 'cni', nativeSidecar: 'on' }, templates));
    assert.deepEqual(listOf(pod, 'initContainers').map((c) => c.name), ['pillion-validation', 'pillion-proxy'], what);
    assert.equal(envOf(proxyOf(pod)).some((e) => e.name === 'PILLION_POD_IPS'), false, what);
  }
});

test("the hook's check keeps a template's own PILLION_POD_IPS and writes to its terminationMessagePath (an empty one means the default)", (t) => {
  const edited = (text: string): TemplateSet => {
    const dir = mkdtempSync(join(tmpdir(), 'pillion-cni-hold-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(bundledTemplatesDir, dir, { recursive: true });
    const envoy = readFileSync(join(dir, 'envoy.yaml'), 'utf8');
    assert.ok(envoy.includes('        readinessProbe:'));
    writeFileSync(join(dir, 'envoy.yaml'), envoy.replace('        readinessProbe:', `${text}        readinessProbe:`));
    return loadTemplates(dir);
  };
  const own = { name: 'PILLION_POD_IPS', value: '10.9.9.9' };
  const cases: [TemplateSet, string, JsonObject[]][] = [
    [edited('        terminationMessagePath: /var/run/proxy-message\n        env:\n          - { name: PILLION_POD_IPS, value: 10.9.9.9 }\n'), '/var/run/proxy-message', [own]],
    [edited('        terminationMessagePath: ""\n'), '/dev/termination-log', [{ name: 'PILLION_POD_IPS', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } }]],
  ];
  for (const [templates, path, env] of cases) {
    const proxy = proxyOf(inject(podWith({}), setup({ captureMode: 'cni', nativeSidecar: 'on' }, templates)));
    assert.equal((hookOf(proxy) as string[]).at(-1), path);
    assert.deepEqual(envOf(proxy).filter((e) => e.name === 'PILLION_POD_IPS'), env);
  }
});

test('uninject removes what CNI mode added and the capture record; switching modes re-injects', () => {
  for (const nativeSidecar of ['on', 'off'] as const) {
    for (const templates of combinations(bundledTemplates())) {
      const pod = podWith({ 'pillion.dev/templates': templates.join(',') }, { initContainers: [{ name: 'migrate', image: 'm:1' }] });
      const cni = inject(pod, setup({ captureMode: 'cni', nativeSidecar }));
      const status = JSON.parse(annotationsOf(cni)['pillion.dev/status'] ?? '{}') as { initContainers: string[]; capture: { mode: string } };
      assert.equal(status.initContainers.includes('pillion-validation'), nativeSidecar === 'off');
      assert.equal(status.capture.mode, 'cni');
      const removed = uninjectPod(cni);
      assert.equal(removed.kind, 'uninjected');
      if (removed.kind === 'uninjected') assert.deepEqual(removed.pod, pod, templates.join(','));
      // The same pod under init mode: what CNI mode added goes, the capture container comes back.
      const back = inject(cni, setup({ captureMode: 'init', nativeSidecar }));
      assert.deepEqual(back, inject(pod, setup({ captureMode: 'init', nativeSidecar })));
    }
  }
});

test('a template whose capture container cannot be read for CNI mode is refused when the folder loads', (t) => {
  const dir = mkdtempSync(join(tmpdir(), `pillion-cni-templates-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: [string, RegExp][] = [
    ['env:\n          - name: PILLION_IPV6\n            valueFrom: { fieldRef: { fieldPath: metadata.name } }', /env PILLION_IPV6 must have a literal "value" \(CNI mode turns it into --ipv6\)/],
    ['envFrom:\n          - configMapRef: { name: settings }', /has "envFrom"/],
    ['command: [pillion-init, apply]', /sets "command"/],
    ['env:\n          - name: PILLION_BACKEND\n            value: iptables', /pillion-init would reject the capture settings.*--backend \(from PILLION_BACKEND\): "iptables" is not one of auto, legacy, nft/],
  ];
  for (const [extra, message] of cases) {
    const folder = join(dir, String(cases.findIndex(([e]) => e === extra)));
    cpSync(bundledTemplatesDir, folder, { recursive: true });
    const envoy = readFileSync(join(folder, 'envoy.yaml'), 'utf8');
    const edited = envoy.replace('        args: "${capture.args}"\n', `        args: "\${capture.args}"\n        ${extra}\n`);
    assert.notEqual(edited, envoy);
    writeFileSync(join(folder, 'envoy.yaml'), edited);
    assert.throws(() => loadTemplates(folder), (e: unknown) => e instanceof SetupError && /envoy\.yaml: cannot be used with captureMode cni: /.test(e.message) && message.test(e.message), extra);
  }
});

test('a pod with a user namespace of its own (spec.hostUsers: false) is refused in CNI mode, saying why; init mode and hostUsers true or unset inject', () => {
  for (const nativeSidecar of ['on', 'off'] as const) {
    const cni = setup({ captureMode: 'cni', nativeSidecar });
    assert.throws(
      () => injectPod(podWith({}, { hostUsers: false }), ctx, cni),
      (e: unknown) => e instanceof InjectionError && /^spec\.hostUsers is false: .*captureMode cni cannot capture/.test(e.message) && e.message.includes('pillion.dev/inject: disabled'),
    );
    for (const spec of [{ hostUsers: true }, {}]) assert.equal(injectPod(podWith({}, spec), ctx, cni).kind, 'injected');
    assert.equal(injectPod(podWith({}, { hostUsers: false }), ctx, setup({ captureMode: 'init', nativeSidecar })).kind, 'injected');
  }
});
