// Every YAML file under deploy/ parses (as Kubernetes reads it, YAML 1.1); each kustomize variant
// builds, holds only namespaced objects in pillion-system or cluster-scoped ones, and matches its
// golden rendering (test/golden/deploy/<variant>.yaml; UPDATE_GOLDEN=1 regenerates after review).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { assertGolden } from '../support/golden.js';
import { repoPath } from '../support/paths.js';
import { injectorNamespace, parseManifests, renderKustomize, requireKubectl } from './support/manifests.js';

const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(path);
    return e.name.endsWith('.yaml') || e.name.endsWith('.yml') ? [path] : [];
  });
}

describe('deploy manifests', () => {
  test('every YAML file under deploy/ parses without errors or duplicate keys', () => {
    const files = yamlFiles(repoPath('deploy'));
    assert.ok(files.length >= 10, `found ${files.length} files`);
    for (const file of files) {
      const docs = parseAllDocuments(readFileSync(file, 'utf8'), { uniqueKeys: true, version: '1.1' });
      for (const doc of docs) assert.deepEqual(doc.errors.map((e) => e.message), [], relative(repoPath(), file));
    }
  });

  for (const variant of ['base', 'cert-manager', 'self-signed', 'cni']) {
    test(`deploy/${variant} builds; objects live in ${injectorNamespace} or are cluster-scoped; golden`, (t) => {
      const kubectl = requireKubectl(t);
      if (kubectl === undefined) return;
      const text = renderKustomize(kubectl, variant);
      const objects = parseManifests(text, `deploy/${variant}`);
      for (const obj of objects) {
        const where = `${obj.kind}/${obj.metadata.name}`;
        if (clusterScoped.has(obj.kind)) assert.equal(obj.metadata.namespace, undefined, `${where} is cluster-scoped`);
        else assert.equal(obj.metadata.namespace, injectorNamespace, `${where} namespace`);
        assert.equal(obj.metadata.labels?.['app.kubernetes.io/part-of'], 'pillion', `${where} is labelled part-of pillion (uninstall selects by it)`);
      }
      assertGolden(`deploy/${variant}.yaml`, text);
    });
  }
});
