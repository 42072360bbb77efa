// Setup loading with --values, and the polling fallback of the file watcher.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { watchForChanges } from '../../../injector/webhook/file-watch.js';
import { mergeValues } from '../../../injector/core/templates.js';
import { buildSetup } from '../../../injector/cli/setup.js';
import { loadSetup } from '../../../injector/core/setup.js';
import { injectPod } from '../../../injector/core/inject.js';
import { waitFor } from './support/https-client.js';
import { loadDeploymentPod } from './support/reviews.js';
import { makeTempDir } from './support/tls.js';

test('--values merges over values.yaml, reaches the injected pod and changes the template version', (t) => {
  const tmp = makeTempDir('overrides');
  t.after(tmp.remove);
  const valuesFile = join(tmp.dir, 'values.yaml');
  writeFileSync(valuesFile, 'proxy:\n  image: registry.example/envoy:custom\n');
  const base = loadSetup({});
  const custom = loadSetup({ valuesFile });
  assert.notEqual(custom.templates.version, base.templates.version);
  const result = injectPod(loadDeploymentPod(), { namespace: 'shop', namespaceLabels: undefined, mode: 'policy' }, custom);
  assert.equal(result.kind, 'injected');
  assert.match(JSON.stringify(result.kind === 'injected' ? result.pod : {}), /registry\.example\/envoy:custom/);
  // Other values under proxy survive the merge.
  assert.equal((custom.templates.values.proxy as { uid: number }).uid, 1337);

  // Both front ends load --values through the core: the same files give the same template version.
  assert.equal(buildSetup({ valuesFile, templatesDir: undefined, configFile: undefined, kubeVersion: undefined }).templates.version, custom.templates.version);

  writeFileSync(valuesFile, 'proxy:\n  uid: root\n');
  assert.throws(() => loadSetup({ valuesFile }), (error: Error) => error.message.includes(valuesFile) && error.message.includes('proxy.uid'));
  writeFileSync(valuesFile, '- a list\n');
  assert.throws(() => loadSetup({ valuesFile }), new RegExp(`${valuesFile}: expected a mapping of values`));
});

test('mergeValues merges mappings and replaces lists and scalars', () => {
  assert.deepEqual(mergeValues({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { c: [3] }, e: true }), { a: { b: 1, c: [3] }, d: 'x', e: true });
});

test('when a folder cannot be watched, polling still reports changes', async (t) => {
  const watchErrors: string[] = [];
  let calls = 0;
  const watch = watchForChanges({ dirs: ['/nonexistent/pillion-watch-test'] }, () => void (calls += 1), {
    pollMs: 50,
    debounceMs: 5,
    onWatchError: (dir) => watchErrors.push(dir),
  });
  t.after(() => watch.close());
  assert.deepEqual(watchErrors, ['/nonexistent/pillion-watch-test']);
  assert.ok(await waitFor(() => calls >= 2, 5000));
});
