// Injector config parsing (injector/core/config.ts): defaults, every key, and precise errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInjectorConfig, resolveNativeSidecar, defaultInjectorConfig } from '../../../injector/core/config.js';
import { SetupError } from '../../../injector/core/errors.js';

test('injector config: defaults, every key, and precise errors', () => {
  assert.deepEqual(parseInjectorConfig('', 'c.yaml'), defaultInjectorConfig);
  assert.equal(defaultInjectorConfig.captureMode, 'init', 'capture mode defaults to the init container');
  assert.equal(parseInjectorConfig('captureMode: init\n', 'c.yaml').captureMode, 'init');
  assert.ok(Object.isFrozen(defaultInjectorConfig));
  const full = parseInjectorConfig(
    'defaultPolicy: enabled\ndefaultTemplates: [haproxy, proxy-logs]\ninjectorNamespace: mesh\nnativeSidecar: auto\nkubeVersion: "v1.30.2"\nallowImageOverride: true\nholdApplicationUntilProxyStarts: true\ncaptureMode: cni\n',
    'c.yaml',
  );
  assert.deepEqual({ ...full }, {
    defaultPolicy: 'enabled', defaultTemplates: ['haproxy', 'proxy-logs'], injectorNamespace: 'mesh', nativeSidecar: 'auto',
    kubeVersion: 'v1.30.2', allowImageOverride: true, holdApplicationUntilProxyStarts: true, captureMode: 'cni',
  });
  assert.equal(resolveNativeSidecar(full), true);
  assert.equal(resolveNativeSidecar({ ...full, kubeVersion: '1.28' }), false);
  assert.equal(resolveNativeSidecar({ ...full, kubeVersion: undefined }), false);
  const bad: [string, RegExp][] = [
    ['colour: red', /c\.yaml: unknown key "colour"/],
    ['defaultPolicy: sometimes', /c\.yaml: key "defaultPolicy": "sometimes" is not one of enabled, disabled/],
    ['defaultTemplates: []', /key "defaultTemplates": expected a non-empty list/],
    ['injectorNamespace: Not_A_Name', /key "injectorNamespace"/],
    ['nativeSidecar: maybe', /key "nativeSidecar"/],
    ['kubeVersion: 1.30', /key "kubeVersion": 1\.3 is a number; quote the version/],
    ['kubeVersion: "latest"', /key "kubeVersion": "latest" is not a Kubernetes version/],
    ['allowImageOverride: "yes"', /key "allowImageOverride": "yes" is not a boolean/],
    ['captureMode: CNI', /c\.yaml: key "captureMode": "CNI" is not one of init, cni/],
    ['captureMode: true', /key "captureMode": true is not one of init, cni/],
    ['captureMode:', /key "captureMode": null is not one of init, cni/],
    ['captureMode: [cni]', /key "captureMode": \["cni"\] is not one of init, cni/],
    ['[1, 2]', /c\.yaml: expected a mapping/],
    ['a: [', /c\.yaml: not valid YAML/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseInjectorConfig(text, 'c.yaml'), (e: unknown) => e instanceof SetupError && message.test(e.message), text);
  }
});
