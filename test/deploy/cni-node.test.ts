// CNI mode's deployment (deploy/cni and the chart's cni.enabled), checked on the parsed objects:
// deploy/cni is deploy/base plus the node agent, with only the injector's config changed; the
// DaemonSet's args are read by the agent's own parser (so every flag exists and agrees with the
// probes, the mounts and the image); the security context is as small as the agent allows; the
// RBAC is exactly what the agent and the plugin call, for the chosen repair mode.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { parseCniArgs, type AgentRun } from '../../cni/install/cli.js';
import { matchesSelector } from './support/label-selector.js';
import type { LabelSelector } from './support/label-selector.js';
import { findObject, helmObjects, indexObjects, injectorNamespace, keyOf, kustomizeObjects, normaliseObject } from './support/manifests.js';
import type { K8sObject } from './support/manifests.js';

interface Probe { httpGet?: { host?: string; path: string; port: number | string } }
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
}
interface DaemonSet {
  metadata: { name: string; namespace: string };
  spec: {
    selector: LabelSelector;
    updateStrategy?: { type: string; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        hostNetwork?: boolean;
        hostPID?: boolean;
        hostIPC?: boolean;
        priorityClassName?: string;
        tolerations?: Record<string, unknown>[];
        terminationGracePeriodSeconds?: number;
        securityContext?: Record<string, unknown>;
        containers: Container[];
        volumes: { name: string; hostPath?: { path: string; type?: string } }[];
      };
    };
  };
}
interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }

const variants: Record<string, { render: (t: TestContext) => K8sObject[] | undefined; repair: 'delete' | 'label' | 'off' }> = {
  'deploy/cni': { render: (t) => kustomizeObjects(t, 'cni'), repair: 'delete' },
  'helm cni.enabled=true': { render: (t) => helmObjects(t, ['cni.enabled=true']), repair: 'delete' },
  'helm cni.repair=label, cni.preset=k3s': { render: (t) => helmObjects(t, ['cni.enabled=true', 'cni.repair=label', 'cni.preset=k3s']), repair: 'label' },
  'helm cni.repair=off, cni.preset=gke': { render: (t) => helmObjects(t, ['cni.enabled=true', 'cni.repair=off', 'cni.preset=gke']), repair: 'off' },
};

const agentName = 'pillion-cni-node';

const ownNodePolicyName = `${agentName}-own-node`;

interface OwnNodePolicy {
  spec: {
    failurePolicy: string;
    matchConstraints: { resourceRules: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }[] };
    matchConditions: { name: string; expression: string }[];
    validations: { expression: string }[];
  };
}

/** The agent's own-node ValidatingAdmissionPolicy and its binding, or undefined when neither is rendered. */
function ownNodePolicyOf(objects: K8sObject[]): OwnNodePolicy | undefined {
  const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.name === ownNodePolicyName);
  const binding = objects.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding' && o.metadata.name === ownNodePolicyName);
  assert.equal(policy === undefined, binding === undefined, 'the policy and its binding come together');
  if (binding !== undefined) assert.deepEqual((binding as unknown as { spec: unknown }).spec, { policyName: ownNodePolicyName, validationActions: ['Deny'] });
  return policy as unknown as OwnNodePolicy | undefined;
}

function daemonSetOf(objects: K8sObject[]): DaemonSet {
  return findObject(objects, 'DaemonSet', agentName) as unknown as DaemonSet;
}

function agentOf(ds: DaemonSet): Container {
  assert.equal(ds.spec.template.spec.containers.length, 1, 'one container');
  return ds.spec.template.spec.containers[0] as Container;
}

/** The DaemonSet's args as the agent reads them (the image's entrypoint is pillion-cni-install). */
function runOf(ds: DaemonSet): AgentRun {
  const run = parseCniArgs(agentOf(ds).args ?? [], 'pillion-cni-install', { NODE_NAME: 'node-1' });
  assert.equal(run.kind, 'agent');
  return run;
}

test('deploy/cni is deploy/base plus the node agent; of the injector, only its config.yaml differs, and the namespace admits privileged pods', (t) => {
  const base = kustomizeObjects(t, 'base');
  const cni = kustomizeObjects(t, 'cni');
  if (base === undefined || cni === undefined) return;
  const fromBase = indexObjects(base);
  const fromCni = indexObjects(cni);
  const added = [...fromCni.keys()].filter((key) => !fromBase.has(key)).sort();
  assert.deepEqual(added, [
    `ClusterRole//${agentName}`,
    `ClusterRoleBinding//${agentName}`,
    `DaemonSet/${injectorNamespace}/${agentName}`,
    `Role/${injectorNamespace}/${agentName}`,
    `RoleBinding/${injectorNamespace}/${agentName}`,
    `ServiceAccount/${injectorNamespace}/${agentName}`,
    `ValidatingAdmissionPolicy//${ownNodePolicyName}`,
    `ValidatingAdmissionPolicyBinding//${ownNodePolicyName}`,
  ]);
  for (const [key, object] of fromBase) {
    const other = fromCni.get(key);
    assert.ok(other !== undefined, `${key} is kept`);
    if (object.kind === 'ConfigMap') {
      const a = normaliseObject(object) as { data: Record<string, Record<string, unknown>> };
      const b = normaliseObject(other) as { data: Record<string, Record<string, unknown>> };
      assert.deepEqual(b.data['config.yaml'], { ...a.data['config.yaml'], captureMode: 'cni' });
      assert.deepEqual(b.data['values.yaml'], a.data['values.yaml']);
    } else if (object.kind === 'Namespace') {
      // The node agent is privileged: a cluster whose default Pod Security level is stricter must still admit it.
      const labels = (other.metadata as { labels?: Record<string, string> }).labels ?? {};
      assert.equal(labels['pod-security.kubernetes.io/enforce'], 'privileged');
      const { ['pod-security.kubernetes.io/enforce']: _privileged, ...rest } = labels;
      assert.deepEqual(rest, (object.metadata as { labels?: Record<string, string> }).labels ?? {});
    } else assert.deepEqual(normaliseObject(other), normaliseObject(object), `${key} unchanged`);
  }
});

for (const [variant, { render, repair }] of Object.entries(variants)) {
  describe(`CNI node agent: ${variant}`, () => {
    test('on every node: host network, system-node-critical, every taint tolerated, one node at a time', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const ds = daemonSetOf(objects);
      const pod = ds.spec.template.spec;
      assert.equal(ds.metadata.namespace, injectorNamespace);
      assert.ok(matchesSelector(ds.spec.selector, ds.spec.template.metadata.labels), 'the selector selects its own pods');
      assert.equal(ds.spec.template.metadata.labels['pillion.dev/inject'], 'disabled', 'never injected itself');
      assert.equal(pod.hostNetwork, true);
      assert.notEqual(pod.hostPID, true);
      assert.notEqual(pod.hostIPC, true);
      assert.equal(pod.priorityClassName, 'system-node-critical');
      assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
      assert.equal(ds.spec.updateStrategy?.type, 'RollingUpdate');
      assert.equal(ds.spec.updateStrategy?.rollingUpdate?.maxSurge, 0, 'never two agents on one node');
      assert.ok((pod.terminationGracePeriodSeconds ?? 30) >= 10, 'time to ask for the DaemonSet and uninstall');
    });

    test("the args are the agent's: its own DaemonSet for SIGTERM, the repair mode, NODE_NAME from the downward API", (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const ds = daemonSetOf(objects);
      const run = runOf(ds);
      assert.deepEqual(run.daemonset, { namespace: ds.metadata.namespace, name: ds.metadata.name });
      assert.equal(run.onSigterm, 'check');
      assert.equal(run.repair, repair);
      assert.equal(run.nodeName, 'node-1');
      assert.equal(run.source, '/app/pillion-cni', 'where Dockerfile.cni puts the executable');
      assert.equal(run.execMode, 'chroot');
      const nodeName = agentOf(ds).env?.find((e) => e.name === 'NODE_NAME');
      assert.deepEqual(nodeName?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
      assert.match(agentOf(ds).image, /^ghcr\.io\/pillion\/pillion-cni:/);
    });

    test('probes: /readyz and /healthz on the port and loopback address the agent listens on', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const ds = daemonSetOf(objects);
      const run = runOf(ds);
      const agent = agentOf(ds);
      for (const [probe, path] of [[agent.readinessProbe, '/readyz'], [agent.livenessProbe, '/healthz']] as const) {
        assert.deepEqual(probe?.httpGet, { host: run.httpHost, path, port: run.httpPort });
      }
      assert.equal(run.httpHost, '127.0.0.1', 'not reachable from other hosts');
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) assert.ok(agent.resources?.[kind]?.[resource], `${kind}.${resource} is set`);
      }
    });

    test('mounts: the preset\'s CNI dirs read-write under --host-root, the host\'s / read-only at --chroot, nothing else', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const ds = daemonSetOf(objects);
      const run = runOf(ds);
      const mounts = agentOf(ds).volumeMounts ?? [];
      const volumes = new Map(ds.spec.template.spec.volumes.map((v) => [v.name, v]));
      const expected = [
        { hostPath: run.paths.netDir, mountPath: join(run.hostRoot, run.paths.netDir), readOnly: false },
        { hostPath: run.paths.binDir, mountPath: join(run.hostRoot, run.paths.binDir), readOnly: false },
        { hostPath: '/', mountPath: run.chrootDir, readOnly: true },
      ];
      assert.equal(mounts.length, expected.length);
      assert.equal(volumes.size, expected.length);
      for (const want of expected) {
        const mount = mounts.find((m) => m.mountPath === want.mountPath);
        assert.ok(mount !== undefined, `${want.mountPath} is mounted`);
        assert.equal(mount.subPath, undefined);
        assert.equal(mount.readOnly === true, want.readOnly, `${want.mountPath} read-only: ${want.readOnly}`);
        assert.equal(volumes.get(mount.name)?.hostPath?.path, want.hostPath, `${want.mountPath} is the host's ${want.hostPath}`);
      }
    });

    test('root without privileges: only SYS_CHROOT, no escalation, read-only root filesystem, RuntimeDefault seccomp', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const ds = daemonSetOf(objects);
      const sc = agentOf(ds).securityContext ?? {};
      assert.equal(sc.runAsUser, 0, 'it writes root-owned host directories');
      assert.equal(sc.privileged, false);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.deepEqual(sc.capabilities, { drop: ['ALL'], add: ['SYS_CHROOT'] }, 'no NET_ADMIN: the agent never touches the network');
      assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' });
      assert.deepEqual(ds.spec.template.spec.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
    });

    test(`RBAC: exactly what the agent and the plugin call (repair ${repair}), bound to the agent's ServiceAccount`, (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const ds = daemonSetOf(objects);
      const sa = findObject(objects, 'ServiceAccount', ds.spec.template.spec.serviceAccountName);
      assert.equal(sa.metadata.namespace, ds.metadata.namespace);
      const subject = [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }];
      const rulesBoundTo = (bindingKind: string, roleKind: string): Rule[] =>
        objects
          .filter((o) => o.kind === bindingKind && (o as unknown as { subjects: unknown[] }).subjects.some((s) => JSON.stringify(s) === JSON.stringify(subject[0])))
          .flatMap((b) => {
            assert.deepEqual((b as unknown as { subjects: unknown }).subjects, subject, `${keyOf(b)} binds only the agent`);
            return (findObject(objects, roleKind, (b as unknown as { roleRef: { name: string } }).roleRef.name) as unknown as { rules: Rule[] }).rules;
          });
      const podVerbs = { delete: ['get', 'list', 'watch', 'delete'], label: ['get', 'list', 'watch', 'patch'], off: ['get'] }[repair];
      assert.deepEqual(rulesBoundTo('ClusterRoleBinding', 'ClusterRole'), [
        { apiGroups: [''], resources: ['pods'], verbs: podVerbs },
        ...(repair === 'off' ? [] : [{ apiGroups: [''], resources: ['events'], verbs: ['create'] }]),
      ]);
      assert.deepEqual(rulesBoundTo('RoleBinding', 'Role'), [
        { apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: [ds.metadata.name], verbs: ['get'] },
      ]);
      const role = findObject(objects, 'Role', agentName);
      assert.equal(role.metadata.namespace, ds.metadata.namespace, 'the Role is where the DaemonSet is');
    });

    test(`the API server lets the agent change only its own node's pods (repair ${repair})`, (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const ds = daemonSetOf(objects);
      const policy = ownNodePolicyOf(objects);
      if (repair === 'off') {
        assert.equal(policy, undefined, 'without repairs the agent changes no pod');
        return;
      }
      assert.ok(policy !== undefined, 'rendered for Kubernetes 1.30');
      assert.equal(policy.spec.failurePolicy, 'Fail');
      // Every verb the RBAC gives the agent that changes a pod is an operation the policy sees.
      assert.deepEqual(policy.spec.matchConstraints.resourceRules, [{ apiGroups: [''], apiVersions: ['v1'], operations: ['DELETE', 'UPDATE'], resources: ['pods'] }]);
      const user = `system:serviceaccount:${ds.metadata.namespace}:${ds.spec.template.spec.serviceAccountName}`;
      assert.deepEqual(policy.spec.matchConditions.map((c) => c.expression), [`request.userInfo.username == '${user}'`]);
      assert.match(policy.spec.validations[0]?.expression ?? '', /request\.userInfo\.extra\['authentication\.kubernetes\.io\/node-name'\]\.exists\(n, n == oldObject\.spec\.nodeName\)/);
    });
  });
}

test('helm cni.ownNodePolicy: auto renders the policy from Kubernetes 1.30 on; true always; false never', (t) => {
  const cases: [string[], string, boolean][] = [
    [[], '1.29.9', false],
    [[], '1.30.0', true],
    [[], 'v1.37.2', true],
    [['cni.ownNodePolicy=true'], '1.23.0', true],
    [['cni.ownNodePolicy=false'], '1.37.2', false],
  ];
  for (const [sets, kubeVersion, rendered] of cases) {
    const objects = helmObjects(t, ['cni.enabled=true', ...sets], kubeVersion);
    if (objects === undefined) return;
    assert.equal(ownNodePolicyOf(objects) !== undefined, rendered, `${sets.join(' ') || 'auto'} on ${kubeVersion}`);
  }
});
