// The Helm chart and the kustomize manifests describe the same installation: for the defaults
// (and for each TLS mode, and CNI mode, against its overlay) `helm template` renders the same
// objects with the same fields as `kubectl kustomize`, compared as parsed objects (embedded config
// YAML parsed too).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { indexObjects, lintHelm, normaliseObject, parseManifests, renderHelm, renderKustomize, requireHelm, requireKubectl, runFailing, injectorNamespace, helmKubeVersion } from './support/manifests.js';
import { repoPath } from '../support/paths.js';

function assertSameObjects(helmText: string, kustomizeText: string, what: string, onlyInKustomize: readonly string[] = []): void {
  const fromHelm = indexObjects(parseManifests(helmText, `helm (${what})`));
  const fromKustomize = indexObjects(parseManifests(kustomizeText, `kustomize (${what})`));
  const helmKeys = [...fromHelm.keys()].sort();
  const kustomizeKeys = [...fromKustomize.keys()].filter((k) => !onlyInKustomize.includes(k)).sort();
  assert.deepEqual(helmKeys, kustomizeKeys, `${what}: the same set of objects`);
  for (const key of onlyInKustomize) assert.ok(fromKustomize.has(key), `${what}: kustomize renders ${key}`);
  for (const key of helmKeys) {
    assert.deepEqual(normaliseObject(fromHelm.get(key)!), normaliseObject(fromKustomize.get(key)!), `${what}: ${key} differs between helm and kustomize`);
  }
}

describe('helm chart vs kustomize', () => {
  test('helm lint passes', (t) => {
    const helm = requireHelm(t);
    if (helm === undefined) return;
    const out = lintHelm(helm);
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test('defaults render deploy/base (Helm leaves the release namespace to --create-namespace)', (t) => {
    const helm = requireHelm(t);
    const kubectl = requireKubectl(t);
    if (helm === undefined || kubectl === undefined) return;
    assertSameObjects(renderHelm(helm), renderKustomize(kubectl, 'base'), 'defaults', [`Namespace//${injectorNamespace}`]);
  });

  test('namespace.create=true renders exactly deploy/base', (t) => {
    const helm = requireHelm(t);
    const kubectl = requireKubectl(t);
    if (helm === undefined || kubectl === undefined) return;
    assertSameObjects(renderHelm(helm, ['namespace.create=true']), renderKustomize(kubectl, 'base'), 'namespace.create=true');
  });

  test('tls.mode=certManager renders deploy/cert-manager', (t) => {
    const helm = requireHelm(t);
    const kubectl = requireKubectl(t);
    if (helm === undefined || kubectl === undefined) return;
    assertSameObjects(renderHelm(helm, ['namespace.create=true', 'tls.mode=certManager']), renderKustomize(kubectl, 'cert-manager'), 'certManager');
  });

  test('tls.mode=selfSigned renders deploy/self-signed', (t) => {
    const helm = requireHelm(t);
    const kubectl = requireKubectl(t);
    if (helm === undefined || kubectl === undefined) return;
    assertSameObjects(renderHelm(helm, ['namespace.create=true', 'tls.mode=selfSigned']), renderKustomize(kubectl, 'self-signed'), 'selfSigned');
  });

  test('cni.enabled=true renders deploy/cni', (t) => {
    const helm = requireHelm(t);
    const kubectl = requireKubectl(t);
    if (helm === undefined || kubectl === undefined) return;
    assertSameObjects(renderHelm(helm, ['namespace.create=true', 'cni.enabled=true']), renderKustomize(kubectl, 'cni'), 'cni.enabled=true');
  });

  test('cni values: repair mode sets the RBAC and the flag; presets set the paths; gke gets its ResourceQuota', (t) => {
    const helm = requireHelm(t);
    if (helm === undefined) return;
    type Role = { rules: { resources: string[]; verbs: string[] }[] };
    type Ds = { spec: { template: { spec: { containers: { args: string[]; volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; hostPath?: { path: string } }[] } } } };
    const render = (sets: string[]): ReturnType<typeof parseManifests> => parseManifests(renderHelm(helm, ['cni.enabled=true', ...sets]), `helm ${sets.join(' ')}`);
    const verbsFor = (objects: ReturnType<typeof parseManifests>, resource: string): string[] | undefined =>
      (objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'pillion-cni-node') as unknown as Role).rules.find((r) => r.resources.includes(resource))?.verbs;
    for (const [repair, pods, events] of [
      ['delete', ['get', 'list', 'watch', 'delete'], ['create']],
      ['label', ['get', 'list', 'watch', 'patch'], ['create']],
      ['off', ['get'], undefined],
    ] as const) {
      const objects = render([`cni.repair=${repair}`]);
      assert.deepEqual(verbsFor(objects, 'pods'), pods, `repair ${repair}: pods`);
      assert.deepEqual(verbsFor(objects, 'events'), events, `repair ${repair}: events`);
      const ds = objects.find((o) => o.kind === 'DaemonSet') as unknown as Ds;
      assert.ok(ds.spec.template.spec.containers[0]?.args.includes(`--repair=${repair}`));
    }
    for (const [preset, netDir, binDir] of [
      ['gke', '/etc/cni/net.d', '/home/kubernetes/bin'],
      ['k3s', '/var/lib/rancher/k3s/agent/etc/cni/net.d', '/var/lib/rancher/k3s/data/cni'],
    ] as const) {
      const objects = render([`cni.preset=${preset}`]);
      const pod = (objects.find((o) => o.kind === 'DaemonSet') as unknown as Ds).spec.template.spec;
      assert.ok(pod.containers[0]?.args.includes(`--preset=${preset}`));
      const hostPath = (name: string): string | undefined => pod.volumes.find((v) => v.name === name)?.hostPath?.path;
      const mountPath = (name: string): string | undefined => pod.containers[0]?.volumeMounts.find((m) => m.name === name)?.mountPath;
      assert.deepEqual([hostPath('cni-net-dir'), hostPath('cni-bin-dir')], [netDir, binDir], preset);
      assert.deepEqual([mountPath('cni-net-dir'), mountPath('cni-bin-dir')], [`/host${netDir}`, `/host${binDir}`], preset);
      assert.equal(objects.some((o) => o.kind === 'ResourceQuota'), preset === 'gke', `${preset}: a ResourceQuota only on GKE`);
    }
    const config = parseManifests(renderHelm(helm, []), 'helm defaults').find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    assert.doesNotMatch(config.data['config.yaml'] ?? '', /captureMode/, 'cni.enabled=false leaves the injector in init mode');
    assert.equal(parseManifests(renderHelm(helm, []), 'helm defaults').some((o) => o.metadata.name === 'pillion-cni-node'), false, 'and renders no node agent');
  });

  test('values change what they claim to: caBundle, annotation opt-in, failure policy, custom templates', (t) => {
    const helm = requireHelm(t);
    if (helm === undefined) return;
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
    const objects = parseManifests(
      renderHelm(helm, [`tls.caBundle=${ca}`, 'webhook.annotationOptIn=false', 'webhook.failurePolicy=Ignore', 'templates.configMap=my-templates']),
      'helm (custom values)',
    );
    const config = objects.find((o) => o.kind === 'MutatingWebhookConfiguration') as unknown as { webhooks: { name: string; failurePolicy: string; clientConfig: { caBundle?: string } }[] };
    assert.deepEqual(config.webhooks.map((w) => w.name), ['namespace.inject.pillion.dev', 'object.inject.pillion.dev']);
    for (const w of config.webhooks) {
      assert.equal(w.clientConfig.caBundle, ca);
      assert.equal(w.failurePolicy, 'Ignore');
    }
    const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { args: string[] }[]; volumes: { name: string; configMap?: { name: string } }[] } } } };
    const pod = deployment.spec.template.spec;
    assert.ok(pod.containers[0]?.args.includes('--templates=/etc/pillion/templates'));
    assert.deepEqual(pod.volumes.find((v) => v.name === 'templates')?.configMap, { name: 'my-templates' });
  });

  test('one replica gets no disruption budget (it would block drains); more get one that lets one go', (t) => {
    const helm = requireHelm(t);
    if (helm === undefined) return;
    const budgets = (sets: readonly string[]): unknown[] =>
      parseManifests(renderHelm(helm, sets), `helm template ${sets.join(' ')}`).filter((o) => o.kind === 'PodDisruptionBudget').map((o) => (o as unknown as { spec: { minAvailable: unknown } }).spec.minAvailable);
    assert.deepEqual(budgets(['replicas=1']), []);
    assert.deepEqual(budgets(['replicas=3', 'podDisruptionBudget.minAvailable=2']), [2]);
    assert.deepEqual(budgets(['podDisruptionBudget.minAvailable=50%']), ['50%']);
  });

  test('bad values are refused with a message naming the value', (t) => {
    const helm = requireHelm(t);
    if (helm === undefined) return;
    const base = [helm, 'template', 'pillion', repoPath('charts', 'pillion'), '--namespace', injectorNamespace, '--kube-version', helmKubeVersion];
    for (const [set, message] of [
      ['tls.mode=bogus', /tls\.mode must be secret, certManager or selfSigned, not "bogus"/],
      ['webhook.failurePolicy=Maybe', /webhook\.failurePolicy must be Fail or Ignore/],
      ['webhook.timeoutSeconds=60', /webhook\.timeoutSeconds must be between 1 and 30/],
      ['cni.preset=eks', /cni\.preset must be default, gke or k3s, not "eks"/],
      ['cni.repair=nuke', /cni\.repair must be delete, label or off, not "nuke"/],
      // A budget that keeps every replica forbids every eviction: node drains would never finish.
      ['podDisruptionBudget.minAvailable=2', /podDisruptionBudget\.minAvailable \(2\) must be below replicas \(2\)/],
      ['podDisruptionBudget.minAvailable=100%', /podDisruptionBudget\.minAvailable \(100%\) must be below replicas \(2\)/],
    ] as const) {
      const { stderr } = runFailing([...base, '--set', set]);
      assert.match(stderr, message, set);
    }
  });
});
