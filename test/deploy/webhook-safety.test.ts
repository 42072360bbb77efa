// Safety properties of the MutatingWebhookConfiguration in every deploy variant (and the Helm
// chart's, when helm is available): v1 only, no side effects, pods CREATE only, short timeout,
// reinvocation, and — evaluated with real label-selector semantics — that no webhook can ever
// match a pod in the injector's own namespace or kube-system, so the injector can always restart.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { InjectionError } from '../../injector/core/errors.js';
import { injectPod } from '../../injector/core/inject.js';
import { loadSetup } from '../../injector/core/setup.js';
import { matchesSelector } from './support/label-selector.js';
import type { LabelSelector, Labels } from './support/label-selector.js';
import { findObject, helmObjects, injectorNamespace, kustomizeObjects } from './support/manifests.js';
import type { K8sObject } from './support/manifests.js';

interface Webhook {
  name: string;
  admissionReviewVersions: string[];
  sideEffects: string;
  timeoutSeconds?: number;
  reinvocationPolicy?: string;
  failurePolicy?: string;
  matchPolicy?: string;
  clientConfig: { service?: { name: string; namespace: string; path?: string; port?: number }; url?: string; caBundle?: string };
  rules: { operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[]; scope?: string }[];
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
}

type Render = (t: TestContext) => K8sObject[] | undefined;

const variants: Record<string, Render> = {
  'deploy/base': (t) => kustomizeObjects(t, 'base'),
  'deploy/cert-manager': (t) => kustomizeObjects(t, 'cert-manager'),
  'deploy/self-signed': (t) => kustomizeObjects(t, 'self-signed'),
  'helm defaults': (t) => helmObjects(t, []),
  'helm tls.mode=certManager': (t) => helmObjects(t, ['tls.mode=certManager']),
  'helm tls.mode=selfSigned': (t) => helmObjects(t, ['tls.mode=selfSigned']),
};

function webhooksOf(objects: K8sObject[]): Webhook[] {
  const config = findObject(objects, 'MutatingWebhookConfiguration', 'pillion-injector');
  const webhooks = (config as unknown as { webhooks?: Webhook[] }).webhooks;
  assert.ok(Array.isArray(webhooks) && webhooks.length > 0, 'the configuration has webhooks');
  return webhooks;
}

/** Namespace labels as the API server sets them: kubernetes.io/metadata.name is always present. */
function namespaceLabels(name: string, extra: Labels = {}): Labels {
  return { ...extra, 'kubernetes.io/metadata.name': name };
}

/** Webhooks of the configuration that the API server would call for this pod. */
function matching(webhooks: Webhook[], nsLabels: Labels, podLabels: Labels): string[] {
  return webhooks.filter((w) => matchesSelector(w.namespaceSelector, nsLabels) && matchesSelector(w.objectSelector, podLabels)).map((w) => w.name);
}

// Label values a namespace or pod might carry: the documented ones, a typo, and none.
const injectLabelValues = [undefined, 'enabled', 'disabled', 'true', 'false', 'yes'];
// Other spellings a label could carry (a label value has no spaces; case is free).
const labelValueSpellings = ['Enabled', 'ENABLED', 'eNabled', 'True', 'TRUE', 'Disabled', 'FALSE'];
const withInject = (value: string | undefined): Labels => (value === undefined ? {} : { 'pillion.dev/inject': value });

for (const [variant, render] of Object.entries(variants)) {
  describe(`webhook configuration: ${variant}`, () => {
    test('v1 reviews only, no side effects, pods CREATE only, timeout ≤ 10 s, reinvocation IfNeeded', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      for (const w of webhooksOf(objects)) {
        assert.deepEqual(w.admissionReviewVersions, ['v1'], `${w.name}: admissionReviewVersions`);
        assert.equal(w.sideEffects, 'None', `${w.name}: sideEffects`);
        assert.ok(typeof w.timeoutSeconds === 'number' && w.timeoutSeconds >= 1 && w.timeoutSeconds <= 10, `${w.name}: timeoutSeconds ${String(w.timeoutSeconds)}`);
        assert.equal(w.reinvocationPolicy, 'IfNeeded', `${w.name}: reinvocationPolicy`);
        assert.ok(w.failurePolicy === 'Fail' || w.failurePolicy === 'Ignore', `${w.name}: failurePolicy is explicit`);
        assert.equal(w.rules.length, 1, `${w.name}: one rule`);
        for (const rule of w.rules) {
          assert.deepEqual(rule.operations, ['CREATE'], `${w.name}: operations`);
          assert.deepEqual(rule.apiGroups, [''], `${w.name}: core API group only`);
          assert.deepEqual(rule.apiVersions, ['v1'], `${w.name}: apiVersions`);
          assert.deepEqual(rule.resources, ['pods'], `${w.name}: pods only, no subresources`);
        }
      }
    });

    test('the webhooks call the injector Service on a port it exposes, at /inject', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const service = findObject(objects, 'Service', 'pillion-injector') as unknown as { metadata: { namespace: string }; spec: { ports: { port: number }[] } };
      const ports = service.spec.ports.map((p) => p.port);
      for (const w of webhooksOf(objects)) {
        assert.equal(w.clientConfig.url, undefined, `${w.name}: uses a Service, not a URL`);
        assert.equal(w.clientConfig.service?.name, 'pillion-injector');
        assert.equal(w.clientConfig.service?.namespace, service.metadata.namespace);
        assert.equal(w.clientConfig.service?.path, '/inject');
        assert.ok(ports.includes(w.clientConfig.service?.port ?? 443), `${w.name}: port is one the Service exposes`);
      }
    });

    test('no webhook matches any pod in the injector namespace or the system namespaces', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const webhooks = webhooksOf(objects);
      for (const ns of [injectorNamespace, 'kube-system', 'kube-public', 'kube-node-lease']) {
        // Even a namespace someone labelled for injection, and any pod labels.
        for (const nsValue of injectLabelValues) {
          for (const podValue of injectLabelValues) {
            const names = matching(webhooks, namespaceLabels(ns, withInject(nsValue)), withInject(podValue));
            assert.deepEqual(names, [], `namespace ${ns} (inject=${String(nsValue)}), pod inject=${String(podValue)}`);
          }
        }
      }
    });

    test("no webhook's objectSelector matches the injector's own pods", (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const deployment = findObject(objects, 'Deployment', 'pillion-injector') as unknown as { spec: { template: { metadata: { labels: Labels } } } };
      const podLabels = deployment.spec.template.metadata.labels;
      for (const w of webhooksOf(objects)) {
        assert.equal(matchesSelector(w.objectSelector, podLabels), false, `${w.name} objectSelector matches the injector pod labels`);
      }
    });

    test('opt-in routing: at most one webhook per pod; label opt-ins fail closed, the rest fail open', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const webhooks = webhooksOf(objects);
      const policy = new Map(webhooks.map((w) => [w.name, w.failurePolicy]));
      for (const nsValue of injectLabelValues) {
        for (const podValue of injectLabelValues) {
          const names = matching(webhooks, namespaceLabels('shop', withInject(nsValue)), withInject(podValue));
          const where = `namespace inject=${String(nsValue)}, pod inject=${String(podValue)}`;
          assert.ok(names.length <= 1, `${where}: ${names.join(', ')} all match (the pod would be reviewed twice)`);
          const podOptsOut = podValue === 'disabled' || podValue === 'false';
          const labelOptIn = !podOptsOut && (nsValue === 'enabled' || podValue === 'enabled' || podValue === 'true');
          if (podOptsOut) {
            assert.deepEqual(names, [], `${where}: an opted-out pod is never sent`);
          } else if (labelOptIn) {
            assert.equal(names.length, 1, `${where}: a label opt-in reaches the injector`);
            assert.equal(policy.get(names[0] as string), 'Fail', `${where}: a label opt-in fails closed`);
          } else if (names.length === 1) {
            // Annotation opt-ins and defaultPolicy=enabled ride on the catch-all, which must not
            // turn an injector outage into a cluster-wide pod-creation outage.
            assert.equal(policy.get(names[0] as string), 'Ignore', `${where}: the catch-all fails open`);
          }
        }
      }
      // The catch-all exists by default: an annotation opt-in in an unlabelled namespace is reviewed.
      assert.equal(matching(webhooks, namespaceLabels('shop'), {}).length, 1, 'an unlabelled pod in an unlabelled namespace reaches the injector');
    });

    test('every pod label value the injection core takes as an opt-in is routed to a fail-closed webhook; others it refuses', (t) => {
      const objects = render(t);
      if (objects === undefined) return;
      const webhooks = webhooksOf(objects);
      const policy = new Map(webhooks.map((w) => [w.name, w.failurePolicy]));
      const setup = loadSetup({});
      let optIns = 0;
      for (const value of [...labelValueSpellings, ...injectLabelValues.filter((v) => v !== undefined)]) {
        const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop', labels: withInject(value) }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
        let injected: boolean;
        try {
          injected = injectPod(pod, { namespace: 'shop', namespaceLabels: {}, mode: 'policy' }, setup).kind === 'injected';
        } catch (error) {
          assert.ok(error instanceof InjectionError, String(error));
          continue; // refused while the injector is up: the user sees why and fixes the label
        }
        if (!injected) continue;
        optIns++;
        const names = matching(webhooks, namespaceLabels('shop'), withInject(value));
        assert.equal(names.length, 1, `label ${value}: the opt-in reaches the injector`);
        assert.equal(policy.get(names[0] as string), 'Fail', `label ${value}: the core injects it, so its webhook must fail closed`);
      }
      assert.equal(optIns, 2, 'enabled and true opt in');
    });
  });
}
