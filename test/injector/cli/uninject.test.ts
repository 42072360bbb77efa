// `pillion uninject`, re-injection of an edited manifest, and what `pillion inject` reads from the
// input as a whole: Namespaces for --policy, native sidecars in use, pillion.dev/ keys on a
// workload's own metadata. Errors in the user's terms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { assertGolden } from '../../support/golden.js';
import { repoPath } from '../../support/paths.js';
import { cliFixture, runPillion } from './run-pillion.js';

type Obj = Record<string, unknown>;

const scratch = mkdtempSync(join(tmpdir(), `pillion-uninject-${process.pid}-`));
test.after(() => rmSync(scratch, { recursive: true, force: true }));
const scratchFile = (name: string, content: string): string => {
  const file = join(scratch, name);
  writeFileSync(file, content);
  return file;
};

const objects = (text: string): unknown[] => {
  const docs = parseAllDocuments(text);
  assert.ok(!('empty' in docs));
  return docs.map((d) => d.toJS() as unknown);
};

for (const fixture of ['workloads.yaml', 'list.yaml', 'preserve.yaml']) {
  test(`inject then uninject gives back the objects of ${fixture}`, () => {
    const input = readFileSync(repoPath(cliFixture(fixture)), 'utf8');
    const injected = runPillion(['inject', '-f', cliFixture(fixture)]);
    assert.equal(injected.status, 0, injected.stderr);
    const file = scratchFile(`injected-${fixture}`, injected.stdout);
    const removed = runPillion(['uninject', '-f', file]);
    assert.equal(removed.status, 0, removed.stderr);
    assertGolden(`inject-cli/uninject-${fixture}`, removed.stdout);
    assert.deepEqual(objects(removed.stdout), objects(input));
    assert.match(removed.stderr, /^uninjected /m);
  });
}

test('uninject skips what Pillion did not inject, keeping its bytes; --report json names the reason', () => {
  const input = readFileSync(repoPath(cliFixture('workloads.yaml')), 'utf8');
  const run = runPillion(['uninject', '-f', cliFixture('workloads.yaml'), '--report', 'json']);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, input);
  const report = JSON.parse(run.stderr) as { decision: string; reason: string }[];
  assert.ok(report.length > 0);
  for (const row of report) assert.deepEqual([row.decision, row.reason], ['skipped', 'not-injected']);
});

const deployment = (name: string, namespace: string, podAnnotations: string, extraSpec = ''): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
${podAnnotations}    spec:
${extraSpec}      containers:
        - name: app
          image: registry.example/${name}:1
`;

test('an edited injected manifest is re-injected with the change; unchanged it is already-injected', () => {
  const first = runPillion(['inject', '-f', scratchFile('plain.yaml', deployment('web', 'shop', ''))]);
  assert.equal(first.status, 0, first.stderr);
  const again = runPillion(['inject', '-f', scratchFile('injected.yaml', first.stdout)]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /^skipped Deployment\/shop\/web: already-injected: /m);
  assert.equal(again.stdout, first.stdout);
  // The user adds an override next to the status annotation.
  const edited = first.stdout.replace(/^( +)pillion\.dev\/status:/m, '$1pillion.dev/log-level: debug\n$1pillion.dev/status:');
  assert.notEqual(edited, first.stdout);
  const second = runPillion(['inject', '-f', scratchFile('edited.yaml', edited)]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stderr, /^injected Deployment\/shop\/web/m);
  assert.match(second.stderr, /re-injecting: the pod changed since it was injected/);
  const [value] = objects(second.stdout) as Obj[];
  const spec = ((value?.spec as Obj).template as Obj).spec as Obj;
  const all = [...((spec.initContainers as Obj[] | undefined) ?? []), ...(spec.containers as Obj[])];
  assert.deepEqual(all.map((c) => c.name).sort(), ['app', 'pillion-init', 'pillion-proxy']);
  const proxy = all.find((c) => c.name === 'pillion-proxy') as Obj;
  const args = proxy.args as string[];
  assert.equal(args[args.indexOf('--log-level') + 1], 'debug');
});

test('--policy sees Namespaces defined in the same input', () => {
  const input = [
    'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    pillion.dev/inject: enabled\n',
    'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: quiet\n  labels:\n    pillion.dev/inject: disabled\n',
    deployment('web', 'shop', ''),
    deployment('tool', 'quiet', ''),
    deployment('lone', 'elsewhere', ''),
    deployment('opted', 'quiet', '      annotations:\n        pillion.dev/inject: enabled\n'),
  ].join('---\n');
  const run = runPillion(['inject', '--policy', '-f', scratchFile('namespaces.yaml', input)]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /^injected Deployment\/shop\/web /m);
  assert.match(run.stderr, /^skipped Deployment\/quiet\/tool: not-opted-in: namespace quiet has label pillion\.dev\/inject=disabled/m);
  assert.match(run.stderr, /^skipped Deployment\/elsewhere\/lone: not-opted-in: /m);
  assert.match(run.stderr, /^injected Deployment\/quiet\/opted /m);
});

test('pillion.dev/ keys on a Deployment\'s own metadata draw a warning: only the pod template counts', () => {
  const input = deployment('web', 'shop', '').replace('  namespace: shop\n', '  namespace: shop\n  annotations:\n    pillion.dev/inject: disabled\n  labels:\n    pillion.dev/templates: haproxy\n');
  const run = runPillion(['inject', '-f', scratchFile('outer.yaml', input)]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /^injected Deployment\/shop\/web/m);
  assert.match(run.stderr, /^warning Deployment\/shop\/web: annotation pillion\.dev\/inject on the Deployment's own metadata is ignored: Pillion reads the pod template's \(spec\.template\.metadata\.annotations\)$/m);
  assert.match(run.stderr, /^warning Deployment\/shop\/web: label pillion\.dev\/templates on the Deployment's own metadata is ignored/m);
});

test('the warning names where a CronJob keeps its pod template: spec.jobTemplate.spec.template', () => {
  const cronJob = [
    'apiVersion: batch/v1',
    'kind: CronJob',
    'metadata: {name: nightly, namespace: shop, annotations: {pillion.dev/inject: enabled}}',
    'spec:',
    '  schedule: "0 3 * * *"',
    '  jobTemplate:',
    '    spec:',
    '      template:',
    '        spec: {restartPolicy: OnFailure, containers: [{name: report, image: registry.example/shop/report:1.0}]}',
  ].join('\n');
  const run = runPillion(['inject', '-f', scratchFile('cronjob.yaml', cronJob)]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /^warning CronJob\/shop\/nightly: annotation pillion\.dev\/inject on the CronJob's own metadata is ignored: Pillion reads the pod template's \(spec\.jobTemplate\.spec\.template\.metadata\.annotations\)$/m);
});

test('native sidecars used anywhere in the input make the proxy native everywhere in it; Jobs are warned about otherwise', () => {
  const job = `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: shop
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: registry.example/migrate:1
`;
  const alone = runPillion(['inject', '-f', scratchFile('job.yaml', job)]);
  assert.equal(alone.status, 0, alone.stderr);
  assert.match(alone.stderr, /^warning Job\/shop\/migrate: pod runs to completion \(restartPolicy: Never\)/m);
  const withSidecar = deployment('web', 'shop', '', '      initContainers:\n        - name: shipper\n          image: registry.example/shipper:1\n          restartPolicy: Always\n');
  const both = runPillion(['inject', '-f', scratchFile('job-and-sidecar.yaml', `${job}---\n${withSidecar}`)]);
  assert.equal(both.status, 0, both.stderr);
  assert.doesNotMatch(both.stderr, /^warning /m);
  const [jobOut] = objects(both.stdout) as Obj[];
  const init = (((jobOut?.spec as Obj).template as Obj).spec as Obj).initContainers as Obj[];
  assert.deepEqual(init.map((c) => [c.name, c.restartPolicy ?? null]), [['pillion-init', null], ['pillion-proxy', 'Always']]);
});

test('errors in the user\'s terms: deep nesting, missing files, a folder given as a file', () => {
  const deep = scratchFile('deep.yaml', `apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: a, image: b, env: ${'['.repeat(20000)}${']'.repeat(20000)}}]\n`);
  const run = runPillion(['inject', '-f', deep]);
  assert.equal(run.status, 1);
  assert.doesNotMatch(run.stderr, /call stack/i);
  assert.match(run.stderr, /nested too deeply/);
  const nested = scratchFile('nested.yaml', `apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: a, image: b, env: ${'['.repeat(100)}${']'.repeat(100)}}]\n`);
  const core = runPillion(['inject', '-f', nested]);
  assert.equal(core.status, 1);
  assert.match(core.stderr, /pod is nested more than 64 levels deep/);
  const folderConfig = runPillion(['inject', '-f', cliFixture('list.yaml'), '--config', scratch]);
  assert.equal(folderConfig.status, 1);
  assert.match(folderConfig.stderr, /cannot read the injector config: it is a folder, not a file$/m);
  const missingValues = runPillion(['inject', '-f', cliFixture('list.yaml'), '--values', join(scratch, 'none.yaml')]);
  assert.match(missingValues.stderr, /none\.yaml: cannot read the values file: no such file or folder$/m);
  // No errno code (ENOENT, EISDIR, ...) in the words; the scratch folder's random name may hold
  // capitals of its own, so it is taken out first.
  assert.doesNotMatch(`${folderConfig.stderr}${missingValues.stderr}`.replaceAll(scratch, '<scratch>'), /\bE[A-Z]{3,}\b/);
});
