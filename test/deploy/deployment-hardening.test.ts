// The injector Deployment, its PodDisruptionBudget, Service and RBAC, in every deploy variant and
// Helm rendering: the hardening the brief requires, checked on the parsed objects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { matchesSelector } from './support/label-selector.js';
import type { LabelSelector } from './support/label-selector.js';
import { findObject, helmObjects, kustomizeObjects } from './support/manifests.js';
import type { K8sObject } from './support/manifests.js';

interface Probe { httpGet?: { path: string; port: string | number; scheme?: string } }
interface Container {
  name: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
}
interface PodSpec {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  topologySpreadConstraints?: { topologyKey: string; labelSelector?: LabelSelector }[];
  containers: Container[];
  volumes?: ({ name: string } & Record<string, unknown>)[];
  hostNetwork?: boolean;
  hostPID?: boolean;
}
interface Deployment { spec: { replicas: number; selector: LabelSelector; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } }
interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }

const selfSignedVariants = new Set(['deploy/self-signed', 'helm tls.mode=selfSigned']);

const variants: Record<string, (t: TestContext) => K8sObject[] | undefined> = {
  'deploy/base': (t) => kustomizeObjects(t, 'base'),
  'deploy/cert-manager': (t) => kustomizeObjects(t, 'cert-manager'),
  'deploy/self-signed': (t) => kustomizeObjects(t, 'self-signed'),
  'helm defaults': (t) => helmObjects(t, []),
  'helm tls.mode=selfSigned': (t) => helmObjects(t, ['tls.mode=selfSigned']),
};

function deploymentOf(objects: K8sObject[]): Deployment {
  return findObject(objects, 'Deployment', 'pillion-injector') as unknown as Deployment;
}

function injectorContainer(d: Deployment): Container {
  assert.equal(d.spec.template.spec.containers.length, 1, 'one container');
  return d.spec.template.spec.containers[0] as Container;
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const prefix = `--${flag}=`;
  const hit = args.find((a) => a.startsWith(prefix));
  return hit?.slice(prefix.length);
}

for (const [variant, render] of Object.entries(variants)) {
  const selfSigned = selfSignedVariants.has(variant);
  describe(`injector deployment: ${variant}`, () => {
    test('replicas and disruption budget', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const d = deploymentOf(objects);
      assert.ok(matchesSelector(d.spec.selector, d.spec.template.metadata.labels), 'selector selects its own pods');
      const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
      if (selfSigned) {
        // One replica: each self-signed replica would publish its own CA. A PDB would block drains.
        assert.equal(d.spec.replicas, 1);
        assert.equal(pdbs.length, 0);
        return;
      }
      assert.equal(d.spec.replicas, 2);
      assert.equal(pdbs.length, 1);
      const pdb = pdbs[0] as unknown as { metadata: { namespace: string }; spec: { minAvailable: number; selector: LabelSelector } };
      assert.equal(pdb.spec.minAvailable, 1);
      assert.ok(matchesSelector(pdb.spec.selector, d.spec.template.metadata.labels), 'the PDB covers the injector pods');
    });

    test('spread across nodes and zones', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const d = deploymentOf(objects);
      const constraints = d.spec.template.spec.topologySpreadConstraints ?? [];
      const keys = constraints.map((c) => c.topologyKey).sort();
      assert.deepEqual(keys, ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
      for (const c of constraints) {
        assert.ok(matchesSelector(c.labelSelector, d.spec.template.metadata.labels), `${c.topologyKey}: selects the injector pods`);
      }
    });

    test('HTTPS liveness /healthz and readiness /readyz on the webhook port', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const c = injectorContainer(deploymentOf(objects));
      const port = flagValue(c.args ?? [], 'port');
      assert.equal(port, '9443');
      const named = c.ports?.find((p) => p.containerPort === Number(port));
      assert.ok(named?.name !== undefined, 'the webhook port is named');
      for (const [probe, path] of [[c.livenessProbe, '/healthz'], [c.readinessProbe, '/readyz']] as const) {
        assert.equal(probe?.httpGet?.path, path);
        assert.equal(probe?.httpGet?.scheme, 'HTTPS');
        assert.ok(probe?.httpGet?.port === named.name || probe?.httpGet?.port === named.containerPort, `${path}: probes the webhook port`);
      }
      const service = findObject(objects, 'Service', 'pillion-injector') as unknown as { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] } };
      assert.deepEqual(service.spec.ports.map((p) => [p.port, p.targetPort]), [[443, named.name]], 'Service 443 → the webhook port');
      assert.ok(matchesSelector({ matchLabels: service.spec.selector }, deploymentOf(objects).spec.template.metadata.labels), 'the Service selects the injector pods');
    });

    test('resource requests and limits', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const { resources } = injectorContainer(deploymentOf(objects));
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          assert.ok(typeof resources?.[kind]?.[resource] === 'string' && resources[kind][resource] !== '', `${kind}.${resource} is set`);
        }
      }
    });

    test('non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const d = deploymentOf(objects);
      const pod = d.spec.template.spec;
      assert.notEqual(pod.hostNetwork, true);
      assert.notEqual(pod.hostPID, true);
      assert.equal(pod.securityContext?.runAsNonRoot, true);
      assert.deepEqual(pod.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
      const sc = injectorContainer(d).securityContext ?? {};
      assert.equal(sc.runAsNonRoot, true);
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.notEqual(sc.privileged, true);
      assert.deepEqual(sc.capabilities?.drop, ['ALL']);
      assert.equal(sc.capabilities?.add, undefined);
      assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' });
      const uid = sc.runAsUser ?? pod.securityContext?.runAsUser;
      assert.ok(typeof uid === 'number' && uid > 0, 'a numeric non-zero uid (runAsNonRoot needs one to verify)');
    });

    test('every file the injector reads is on a read-only whole-directory mount; /tmp is writable', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const d = deploymentOf(objects);
      const c = injectorContainer(d);
      const mounts = c.volumeMounts ?? [];
      const volumes = new Map((d.spec.template.spec.volumes ?? []).map((v) => [v.name, v]));
      for (const m of mounts) {
        assert.ok(volumes.has(m.name), `mount ${m.name} has a volume`);
        // The kubelet never updates subPath mounts, so cert/config reloads would never happen.
        assert.equal(m.subPath, undefined, `${m.name}: no subPath`);
      }
      const tmp = mounts.find((m) => m.mountPath === '/tmp');
      assert.ok(tmp !== undefined && tmp.readOnly !== true && volumes.get(tmp.name)?.emptyDir !== undefined, '/tmp is a writable emptyDir');
      const args = c.args ?? [];
      assert.equal(args[0], 'webhook');
      const files = ['config', 'values', ...(selfSigned ? [] : ['cert', 'key'])].map((flag) => {
        const file = flagValue(args, flag);
        assert.ok(file !== undefined, `--${flag} is passed`);
        return file;
      });
      for (const file of files) {
        const mount = mounts.find((m) => file.startsWith(`${m.mountPath}/`));
        assert.ok(mount !== undefined && mount.readOnly === true && mount.mountPath !== '/tmp', `${file} is on a read-only mount`);
      }
      if (selfSigned) {
        assert.ok(args.includes('--self-signed'));
        assert.equal(flagValue(args, 'webhook-config-name'), 'pillion-injector');
        assert.equal(flagValue(args, 'service'), 'pillion-injector');
        assert.ok(!volumes.has('tls'), 'no certificate Secret to mount');
      } else {
        const cert = flagValue(args, 'cert') as string;
        const tlsMount = mounts.find((m) => cert.startsWith(`${m.mountPath}/`));
        const secret = volumes.get(tlsMount?.name ?? '')?.secret as { secretName?: string; defaultMode?: number } | undefined;
        assert.equal(secret?.secretName, 'pillion-injector-tls');
        assert.equal((secret?.defaultMode ?? 0o644) & 0o007, 0, 'the private key is not world-readable');
      }
    });

    test('least RBAC: namespaces read-only; webhook patch only when self-signed, only its own', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const d = deploymentOf(objects);
      const sa = findObject(objects, 'ServiceAccount', d.spec.template.spec.serviceAccountName ?? 'default');
      assert.equal(objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding').length, 0, 'no namespaced roles');
      const bindings = objects.filter((o) => o.kind === 'ClusterRoleBinding') as unknown as { roleRef: { name: string }; subjects: { kind: string; name: string; namespace: string }[] }[];
      const rules: Rule[] = [];
      for (const b of bindings) {
        assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
        rules.push(...(findObject(objects, 'ClusterRole', b.roleRef.name) as unknown as { rules: Rule[] }).rules);
      }
      const read = rules.filter((r) => r.resources.includes('namespaces'));
      assert.deepEqual(read, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }], 'only GET: the webhook reads one namespace at a time (namespace-lookup.ts)');
      const others = rules.filter((r) => !r.resources.includes('namespaces'));
      if (!selfSigned) {
        assert.deepEqual(others, [], 'nothing but namespace reads');
        return;
      }
      assert.deepEqual(others, [
        { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: ['pillion-injector'], verbs: ['get', 'patch'] },
      ]);
      findObject(objects, 'MutatingWebhookConfiguration', 'pillion-injector');
    });
  });
}
