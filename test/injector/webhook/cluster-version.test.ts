// nativeSidecar auto follows the version the webhook discovers from its API server, unless the
// injector config names one. (The discovery itself runs against a real API server in
// e2e/cluster/webhook-apiserver.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveNativeSidecar } from '../../../injector/core/config.js';
import { loadSetup } from '../../../injector/core/setup.js';

test('a discovered cluster version turns nativeSidecar auto on from 1.29 and off before', () => {
  assert.equal(resolveNativeSidecar(loadSetup({ clusterVersion: 'v1.37.2' }).config), true);
  assert.equal(resolveNativeSidecar(loadSetup({ clusterVersion: 'v1.28.9' }).config), false);
  assert.equal(resolveNativeSidecar(loadSetup({}).config), false, 'unknown version: auto stays off');
});

test("the config's kubeVersion and nativeSidecar win over the discovered version", () => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-cluster-version-'));
  const pinned = join(dir, 'pinned.yaml');
  writeFileSync(pinned, 'kubeVersion: "1.28"\n');
  const setup = loadSetup({ configFile: pinned, clusterVersion: 'v1.37.2' });
  assert.equal(setup.config.kubeVersion, '1.28');
  assert.equal(resolveNativeSidecar(setup.config), false);
  const off = join(dir, 'off.yaml');
  writeFileSync(off, 'nativeSidecar: "off"\n');
  assert.equal(resolveNativeSidecar(loadSetup({ configFile: off, clusterVersion: 'v1.37.2' }).config), false);
  assert.ok(Object.isFrozen(loadSetup({ clusterVersion: 'v1.37.2' }).config));
});
