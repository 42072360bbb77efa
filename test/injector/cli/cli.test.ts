// `pillion inject` through the built binary: workload kinds, Lists, byte preservation, errors,
// exit codes, stdin, -o json, --report json. Outputs are compared with golden files
// (test/golden/inject-cli/, UPDATE_GOLDEN=1 regenerates) and checked structurally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { assertGolden } from '../../support/golden.js';
import { repoPath } from '../../support/paths.js';
import { cliFixture, runPillion } from './run-pillion.js';

const readFixture = (name: string): string => readFileSync(repoPath(cliFixture(name)), 'utf8');

type Obj = Record<string, unknown>;
const get = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v === null || typeof v !== 'object' ? undefined : (v as Obj)[k as string]), value);
const containerNames = (podSpec: unknown): string[] =>
  [...((get(podSpec, 'containers') as Obj[] | undefined) ?? []), ...((get(podSpec, 'initContainers') as Obj[] | undefined) ?? [])].map(
    (c) => String(c.name),
  );

test('every workload kind is injected; other documents come out byte for byte', () => {
  const input = readFixture('workloads.yaml');
  const run = runPillion(['inject', '-f', cliFixture('workloads.yaml')]);
  assert.equal(run.status, 0, run.stderr);
  assertGolden('inject-cli/workloads.yaml', run.stdout);
  assertGolden('inject-cli/workloads.report.txt', run.stderr);
  const docs = parseAllDocuments(run.stdout);
  assert.ok(!('empty' in docs));
  const templatePaths: Record<string, (string | number)[]> = {
    Pod: [],
    Deployment: ['spec', 'template'],
    StatefulSet: ['spec', 'template'],
    DaemonSet: ['spec', 'template'],
    ReplicaSet: ['spec', 'template'],
    ReplicationController: ['spec', 'template'],
    Job: ['spec', 'template'],
    CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  };
  const seen = new Set<string>();
  for (const doc of docs) {
    const value = doc.toJS() as Obj;
    const path = templatePaths[String(value.kind)];
    if (path === undefined) {
      // Non-workload documents: their exact source text is in the output.
      const source = doc.toString();
      assert.ok(input.includes(String(get(value, 'metadata', 'name'))), 'document came from the input');
      assert.ok(source.length > 0);
      continue;
    }
    seen.add(String(value.kind));
    const names = containerNames(get(value, ...path, 'spec'));
    assert.ok(names.includes('pillion-proxy'), `${String(value.kind)} has the proxy: ${names.join(',')}`);
    assert.ok(names.includes('pillion-init'), `${String(value.kind)} has the capture init container`);
  }
  assert.deepEqual([...seen].sort(), Object.keys(templatePaths).sort());
  for (const untouched of [input.slice(0, input.indexOf('---\n') + 4), input.slice(input.lastIndexOf('---\n'))]) {
    assert.ok(run.stdout.includes(untouched), `untouched bytes missing:\n${untouched}`);
  }
  assert.match(run.stderr, /^injected CronJob\/default\/nightly \(templates: envoy\)$/m);
});

test('Lists are injected item by item, nested Lists too', () => {
  const run = runPillion(['inject', '-f', cliFixture('list.yaml')]);
  assert.equal(run.status, 0, run.stderr);
  assertGolden('inject-cli/list.yaml', run.stdout);
  const list = parseYaml(run.stdout) as Obj;
  assert.ok(containerNames(get(list, 'items', 0, 'spec', 'template', 'spec')).includes('pillion-proxy'));
  assert.deepEqual(get(list, 'items', 1), (parseYaml(readFixture('list.yaml')) as { items: unknown[] }).items[1]);
  assert.ok(containerNames(get(list, 'items', 2, 'items', 0, 'spec')).includes('pillion-proxy'));
  assert.ok(!containerNames(get(list, 'items', 2, 'items', 1, 'spec')).includes('pillion-proxy'));
  assert.equal(
    run.stderr,
    'injected Deployment/shop/front (templates: envoy)\n' +
      'injected Pod/default/inner (templates: envoy)\n' +
      'skipped Pod/default/inner-opted-out: opted-out: annotation pillion.dev/inject=disabled\n',
  );
});

test('untouched documents keep every byte: directives, comments, markers, no final newline', () => {
  const input = readFixture('preserve.yaml');
  const run = runPillion(['inject', '-f', cliFixture('preserve.yaml')]);
  assert.equal(run.status, 0, run.stderr);
  assertGolden('inject-cli/preserve.yaml', run.stdout);
  // Everything before the injected pod's body and everything after it is the input's own text.
  const marker = '# an injected pod between untouched ones';
  const head = input.slice(0, input.indexOf(marker));
  const tail = input.slice(input.indexOf('---\nkind: ConfigMap'));
  assert.ok(run.stdout.startsWith(head + marker), 'bytes before the injected document changed');
  assert.ok(run.stdout.endsWith(tail), 'bytes after the injected document changed');
  assert.ok(!run.stdout.endsWith('\n'), 'the missing final newline stays missing');
  // The injected document keeps its own lines byte for byte, comments and their spacing included.
  for (const line of ['  name: inside   # injected\n', '    image: registry.example/app:1   # pinned\n']) {
    assert.ok(input.includes(line) && run.stdout.includes(line), `kept line ${JSON.stringify(line)}`);
  }
  assert.match(run.stderr, /^skipped Pod\/default\/keep-out: opted-out: /m);
  assert.match(run.stderr, /^skipped Pod\/default\/hostnet: host-network: /m);
  assert.doesNotMatch(run.stderr, /not-a-kubernetes-deployment/, 'a Deployment of another API group is not ours');
});

test('a document that cannot be processed: exit 1, nothing on stdout, file/document/line named', () => {
  const cases: [string, RegExp][] = [
    ['bad-annotation.yaml', /^pillion inject: test\/fixtures\/inject-cli\/bad-annotation\.yaml: document 3 \(line 26\): annotation pillion\.dev\/inbound-ports: port 99999 is out of range 1-65535$/m],
    ['bad-yaml.yaml', /^pillion inject: test\/fixtures\/inject-cli\/bad-yaml\.yaml: document 2 \(line 1[01]\): Flow sequence/m],
    ['no-template.yaml', /^pillion inject: test\/fixtures\/inject-cli\/no-template\.yaml: document 2 \(line 6\): Deployment hollow has no pod template/m],
  ];
  for (const [file, message] of cases) {
    // The broken file comes second: the good file before it must not be printed either.
    const run = runPillion(['inject', '-f', cliFixture('list.yaml'), '-f', cliFixture(file)]);
    assert.equal(run.status, 1, `${file}: ${run.stderr}`);
    assert.equal(run.stdout, '', `${file}: stdout must stay empty`);
    assert.match(run.stderr, message);
  }
  const missing = runPillion(['inject', '-f', 'test/fixtures/inject-cli/does-not-exist.yaml']);
  assert.equal(missing.status, 1);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /does-not-exist\.yaml: cannot read: no such file or folder$/m);
  const badConfig = runPillion(['inject', '-f', cliFixture('list.yaml'), '--config', cliFixture('list.yaml')]);
  assert.equal(badConfig.status, 1);
  assert.equal(badConfig.stdout, '');
  assert.match(badConfig.stderr, /unknown key "apiVersion"/);
});

test('usage errors exit 2 with a message on stderr', () => {
  const cases: [string[], RegExp][] = [
    [['inject'], /required option '-f, --filename <file>' not specified/],
    [['inject', '-f', cliFixture('list.yaml'), '-o', 'xml'], /argument 'xml' is invalid/],
    [['inject', '-f', cliFixture('list.yaml'), '--kube-version', '1.x'], /Kubernetes version/],
    [['inject', '-f', cliFixture('list.yaml'), '--capture-mode', 'ebpf'], /argument 'ebpf' is invalid\. Allowed choices are init, cni/],
    [['inject', '-f', cliFixture('list.yaml'), '--report', 'csv'], /invalid/],
    [['inject', '-f', cliFixture('list.yaml'), '--namespace', 'Not_A_Namespace'], /namespace name/],
    [['inject', '-f', '-', '-f', '-'], /standard input/],
    [['inject', '-f', cliFixture('list.yaml'), '--no-such-flag'], /unknown option '--no-such-flag'/],
    [['no-such-command'], /unknown command 'no-such-command'/],
  ];
  for (const [args, message] of cases) {
    const run = runPillion(args);
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stdout, '', args.join(' '));
    assert.match(run.stderr, message, args.join(' '));
  }
});

test('--help and --version exit 0 on stdout', () => {
  const help = runPillion(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /inject/);
  const injectHelp = runPillion(['inject', '--help']);
  assert.equal(injectHelp.status, 0);
  assert.match(injectHelp.stdout, /--kube-version/);
  assert.match(injectHelp.stdout, /--capture-mode <mode>/);
  const version = runPillion(['--version']);
  assert.equal(version.status, 0);
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
  assert.equal(version.stdout.trim(), pkg.version);
});

test('-f - reads stdin; several -f files join as separate streams', () => {
  const pod = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: from-stdin\nspec:\n  containers:\n  - name: a\n    image: b';
  const run = runPillion(['inject', '-f', '-', '-f', cliFixture('list.yaml'), '-n', 'team'], pod);
  assert.equal(run.status, 0, run.stderr);
  const docs = parseAllDocuments(run.stdout);
  assert.ok(!('empty' in docs));
  assert.equal(docs.length, 2);
  assert.equal(get(docs[0]!.toJS(), 'metadata', 'name'), 'from-stdin');
  assert.equal(get(docs[1]!.toJS(), 'kind'), 'List');
  assert.match(run.stderr, /^injected Pod\/team\/from-stdin /m);
  // An object's own namespace wins over --namespace.
  assert.match(run.stderr, /^injected Deployment\/shop\/front /m);
});

test('-o json prints one List of every object; --report json the decisions', () => {
  const run = runPillion(['inject', '-f', cliFixture('list.yaml'), '-f', cliFixture('workloads.yaml'), '-o', 'json', '--report', 'json']);
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { kind: string; items: Obj[] };
  assert.equal(out.kind, 'List');
  // list.yaml's 4 items (nested List flattened) + workloads.yaml's 10 documents.
  assert.equal(out.items.length, 4 + 10);
  assert.deepEqual(
    out.items.slice(0, 4).map((i) => get(i, 'metadata', 'name')),
    ['front', 'front-config', 'inner', 'inner-opted-out'],
  );
  const report = JSON.parse(run.stderr) as Obj[];
  assert.equal(report.length, 3 + 8);
  assert.deepEqual(report[2], {
    file: cliFixture('list.yaml'),
    document: 1,
    kind: 'Pod',
    namespace: 'default',
    name: 'inner-opted-out',
    decision: 'skipped',
    reason: 'opted-out',
    detail: 'annotation pillion.dev/inject=disabled',
    templates: [],
    warnings: [],
  });
  assert.equal(report[10]!.document, 9);
  assert.equal(report[10]!.kind, 'CronJob');
  assert.deepEqual(report[10]!.templates, ['envoy']);
});

test('--capture-mode cni wins over the config file: no privileged init container, a validation container and the plugin\'s record', (t) => {
  const dir = mkdtempSync(join(tmpdir(), `pillion-cli-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, 'captureMode: init\n');
  const podSpec = (out: string): Obj => get(JSON.parse(out), 'items', 0, 'spec', 'template') as Obj;
  const names = (spec: Obj, list: string): unknown[] => (((spec.spec as Obj)[list] as Obj[] | undefined) ?? []).map((c) => c.name);
  const init = runPillion(['inject', '-f', cliFixture('list.yaml'), '-o', 'json', '--config', configFile]);
  assert.equal(init.status, 0, init.stderr);
  assert.deepEqual(names(podSpec(init.stdout), 'initContainers'), ['pillion-init']);
  const cni = runPillion(['inject', '-f', cliFixture('list.yaml'), '-o', 'json', '--config', configFile, '--capture-mode', 'cni']);
  assert.equal(cni.status, 0, cni.stderr);
  const template = podSpec(cni.stdout);
  assert.deepEqual(names(template, 'initContainers'), ['pillion-validation']);
  const status = JSON.parse(((template.metadata as Obj).annotations as Obj)['pillion.dev/status'] as string) as Obj;
  assert.equal((status.capture as Obj).mode, 'cni');
  const validation = ((template.spec as Obj).initContainers as Obj[])[0]!;
  assert.deepEqual(validation.args, ['validate', ...((status.capture as Obj).args as string[])]);
});

test('--templates, --values and --kube-version change the injection', (t) => {
  const base = runPillion(['inject', '-f', cliFixture('list.yaml'), '-o', 'json']);
  const native = runPillion(['inject', '-f', cliFixture('list.yaml'), '-o', 'json', '--kube-version', 'v1.30.2']);
  assert.equal(base.status, 0, base.stderr);
  assert.equal(native.status, 0, native.stderr);
  const proxyIn = (out: string, list: 'containers' | 'initContainers'): boolean =>
    ((get(JSON.parse(out), 'items', 0, 'spec', 'template', 'spec', list) as Obj[] | undefined) ?? []).some((c) => c.name === 'pillion-proxy');
  assert.ok(proxyIn(base.stdout, 'containers') && !proxyIn(base.stdout, 'initContainers'), 'no version: a regular container');
  assert.ok(proxyIn(native.stdout, 'initContainers'), '1.30: a native sidecar');

  const dir = mkdtempSync(join(tmpdir(), `pillion-cli-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const valuesFile = join(dir, 'values.yaml');
  writeFileSync(valuesFile, 'proxy:\n  image: registry.example/proxy:from-values\n');
  const templatesDir = join(dir, 'templates');
  cpSync(repoPath('templates'), templatesDir, { recursive: true });
  const bundledValues = readFileSync(join(templatesDir, 'values.yaml'), 'utf8');
  writeFileSync(join(templatesDir, 'values.yaml'), bundledValues.replace(/^( {2}image: )docker\.io\/envoyproxy\/envoy:\S+$/m, '$1registry.example/proxy:from-templates'));
  const imageOf = (out: string): unknown =>
    ((get(JSON.parse(out), 'items', 0, 'spec', 'template', 'spec', 'containers') as Obj[]).find((c) => c.name === 'pillion-proxy') ?? {}).image;
  const withValues = runPillion(['inject', '-f', cliFixture('list.yaml'), '-o', 'json', '--values', valuesFile]);
  assert.equal(withValues.status, 0, withValues.stderr);
  assert.equal(imageOf(withValues.stdout), 'registry.example/proxy:from-values');
  const withTemplates = runPillion(['inject', '-f', cliFixture('list.yaml'), '-o', 'json', '--templates', templatesDir]);
  assert.equal(withTemplates.status, 0, withTemplates.stderr);
  assert.equal(imageOf(withTemplates.stdout), 'registry.example/proxy:from-templates');
  writeFileSync(valuesFile, 'ports:\n  inbound: 70000\n');
  const badValues = runPillion(['inject', '-f', cliFixture('list.yaml'), '--values', valuesFile]);
  assert.equal(badValues.status, 1, badValues.stderr);
  assert.equal(badValues.stdout, '');
  assert.match(badValues.stderr, /values\.yaml/);
});
