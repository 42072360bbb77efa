// Walks test/fixtures/inject/: runs the core on every case and compares with the stored outcome
// (UPDATE_GOLDEN=1 regenerates). For injected cases it also checks the patch against the real
// fast-json-patch implementation and that injecting the result again is a no-op.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { injectPod } from '../../../injector/core/inject.js';
import { updateGolden } from '../../support/paths.js';
import { listFixtureCases, loadFixtureCase, outcomeFileNames, outcomeFiles, runFixtureCase } from './fixture-support.js';

const cases = listFixtureCases();

test('there are fixtures for every required situation', () => {
  for (const prefix of ['override-', 'invalid-', 'system-namespace', 'injector-namespace', 'host-network', 'windows-pod', 'pod-level-resources', 'opted-out', 'policy-not-opted-in', 'already-injected', 'version-upgrade', 'native-sidecar', 'non-native-sidecar', 'hold-application', 'multiple-templates', 'haproxy', 'invalid-reserved-', 'invalid-templates-two-proxies', 'invalid-proxy-cpu-above-limit', 'other-mesh-', 'prometheus-app-', 'job-pod-', 'init-containers-regular-proxy', 'native-sidecar-inferred', 'cni-mode-', 'cni-mode-haproxy', 'cni-mode-native-sidecar', 'cni-mode-already-injected', 'cni-mode-back-to-init-mode']) {
    assert.ok(cases.some((c) => c.startsWith(prefix)), `no fixture case starting with ${prefix}`);
  }
});

for (const name of cases) {
  test(`fixture ${name}`, () => {
    const fixture = loadFixtureCase(name);
    const before = JSON.stringify(fixture.input);
    const outcome = runFixtureCase(fixture);
    assert.equal(JSON.stringify(fixture.input), before, 'injectPod modified its input');
    const files = outcomeFiles(outcome);
    for (const file of outcomeFileNames) {
      const path = `${fixture.dir}/${file}`;
      const want = files[file];
      if (updateGolden) {
        if (want === undefined) rmSync(path, { force: true });
        else writeFileSync(path, want);
        continue;
      }
      if (want === undefined) {
        assert.ok(!existsSync(path), `${name}/${file} exists but the outcome has no such file (UPDATE_GOLDEN=1 regenerates)`);
      } else {
        assert.ok(existsSync(path), `${name}/${file} is missing (UPDATE_GOLDEN=1 creates it)`);
        assert.equal(want, readFileSync(path, 'utf8'), `${name}/${file} differs (UPDATE_GOLDEN=1 regenerates)`);
      }
    }
    if ('error' in outcome || outcome.result.kind !== 'injected') return;
    const { pod, patch } = outcome.result;
    // The patch, applied by the real library to a fresh copy of the input, yields the result.
    const applied = fastJsonPatch.applyPatch(structuredClone(fixture.input), structuredClone(patch) as Operation[], true, true);
    assert.deepEqual(applied.newDocument, pod);
    for (const op of patch) {
      assert.ok(!op.path.startsWith('/status') && !op.path.startsWith('/metadata/managedFields'), `patch touches ${op.path}`);
    }
    // Re-injection with the same templates is a no-op.
    const again = injectPod(pod, fixture.ctx, fixture.setup);
    assert.equal(again.kind, 'skipped');
    assert.equal(again.kind === 'skipped' ? again.reason : '', 'already-injected');
  });
}
