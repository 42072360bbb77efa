// `pillion inject` through the built binary on manifests whose meaning depends on reading them as
// kubectl does: YAML 1.1 booleans and octal modes, merge keys, aliases, root anchors and tags, CRLF,
// JSON input; and the input side of the CLI: encodings, binary files, the size limit, kubectl-style
// `-o=json`, a reader that closes the pipe early, errors under --report json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toKubeValue } from '../../../injector/cli/kube-yaml.js';
import { parseStream } from '../../../injector/cli/stream.js';
import { assertGolden } from '../../support/golden.js';
import { pillionBin, repoPath, repoRoot } from '../../support/paths.js';
import { skipOrFail } from '../../support/privileges.js';
import { cliFixture, runPillion } from './run-pillion.js';

type Obj = Record<string, unknown>;
const get = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v === null || typeof v !== 'object' ? undefined : (v as Obj)[k as string]), value);
const names = (list: unknown): string[] => ((list as Obj[] | undefined) ?? []).map((c) => String(c.name));

const scratch = mkdtempSync(join(tmpdir(), `pillion-kube-reading-${process.pid}-`));
test.after(() => rmSync(scratch, { recursive: true, force: true }));
const scratchFile = (name: string, content: string | Uint8Array): string => {
  const file = join(scratch, name);
  writeFileSync(file, content);
  return file;
};

/** Each output document as kubectl reads it; every document must parse. */
function readOutput(text: string): unknown[] {
  return parseStream('out', text).documents.map((d) => {
    assert.deepEqual(d.doc.errors, [], 'output document parses');
    return toKubeValue(d.doc);
  });
}

const pod = (name: string, extra = ''): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n${extra}  containers:\n  - name: app\n    image: registry.example/app:1\n`;

test('YAML 1.1 booleans: hostNetwork yes/On skip the workload, off injects; octal modes keep their value', () => {
  const input = readFileSync(repoPath(cliFixture('yaml11.yaml')), 'utf8');
  const run = runPillion(['inject', '-f', cliFixture('yaml11.yaml')]);
  assert.equal(run.status, 0, run.stderr);
  assertGolden('inject-cli/yaml11.yaml', run.stdout);
  assert.equal(
    run.stderr,
    'injected Pod/default/modes (templates: envoy)\n' +
      "skipped Pod/default/host-yes: host-network: pod uses hostNetwork; capturing would redirect the node's traffic\n" +
      "skipped DaemonSet/default/host-on: host-network: pod uses hostNetwork; capturing would redirect the node's traffic\n" +
      'injected Pod/default/host-no (templates: envoy)\n' +
      'injected Pod/default/merged (templates: envoy)\n' +
      // The merged spec's restartPolicy: Never (from the anchor) is a run-to-completion pod.
      'warning Pod/default/merged: pod runs to completion (restartPolicy: Never) but the proxy is a regular container that never exits, ' +
      'so the pod never completes (a Job hangs): use native sidecars (pillion.dev/native-sidecar: "true") or opt out (pillion.dev/inject: disabled)\n',
  );
  // The skipped and non-workload documents are their input bytes.
  const docs = parseStream('in', input).documents;
  for (const i of [1, 2, 4]) assert.ok(run.stdout.includes(docs[i]!.text), `document ${i + 1} is byte-identical`);
  // The injected pod keeps the modes as written, and the env strings as strings.
  assert.match(run.stdout, /defaultMode: 0400\}/);
  assert.match(run.stdout, /^ {6}defaultMode: 0755$/m);
  const [modes, , , hostNo, configMap, merged] = readOutput(run.stdout);
  const userVolumes = (get(modes, 'spec', 'volumes') as Obj[]).filter((v) => !String(v.name).startsWith('pillion-'));
  assert.deepEqual(userVolumes.map((v) => get(v, Object.keys(v)[1]!, 'defaultMode')), [0o400, 0o644, 0o755]);
  assert.deepEqual(get(modes, 'spec', 'containers', 0, 'env'), [{ name: 'ENABLED', value: 'yes' }, { name: 'MODE', value: '0400' }]);
  assert.equal(get(hostNo, 'spec', 'hostNetwork'), false);
  assert.ok(names(get(hostNo, 'spec', 'initContainers')).includes('pillion-init'));
  assert.equal(get(configMap, 'data', '<<'), 'kept as a key');
  // The merged pod: its containers came through `<<: *base` and the proxy joined them.
  assert.deepEqual(names(get(merged, 'spec', 'containers')), ['job', 'pillion-proxy']);
  assert.equal(get(merged, 'spec', 'restartPolicy'), 'Never');
  assert.equal(get(merged, 'spec', 'terminationGracePeriodSeconds'), 5);
  assert.equal(get(merged, 'spec', '<<'), undefined);

  const json = runPillion(['inject', '-f', cliFixture('yaml11.yaml'), '-o', 'json']);
  assert.equal(json.status, 0, json.stderr);
  const items = (JSON.parse(json.stdout) as { items: Obj[] }).items;
  assert.deepEqual(items, readOutput(run.stdout), '-o json holds what the YAML output says');
  assert.equal(get(items[1], 'spec', 'hostNetwork'), true, 'an untouched document is read as kubectl reads it');
  assert.ok(!json.stdout.includes('"<<": {'), 'no merge key leaks into JSON');
});

test('kubectl reads Pillion\'s YAML output exactly as Pillion\'s -o json says', (t) => {
  if (spawnSync('kubectl', ['version', '--client']).status !== 0) return skipOrFail(t, 'needs kubectl on PATH');
  const yaml = runPillion(['inject', '-f', cliFixture('yaml11.yaml')]);
  const json = runPillion(['inject', '-f', cliFixture('yaml11.yaml'), '-o', 'json']);
  assert.equal(yaml.status, 0, yaml.stderr);
  const file = scratchFile('yaml11-out.yaml', yaml.stdout);
  const kube = spawnSync('kubectl', ['annotate', '--local', '-f', file, 'pillion.dev/probe=1', '-o', 'json'], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: '/dev/null' },
  });
  assert.equal(kube.status, 0, kube.stderr);
  // Several objects come out as concatenated pretty-printed JSON objects, each from column 0.
  const objects = kube.stdout.split(/\n(?=\{)/).map((part) => JSON.parse(part) as Obj);
  const theirs = objects.map((item) => {
    const annotations = get(item, 'metadata', 'annotations') as Obj;
    delete annotations['pillion.dev/probe'];
    if (Object.keys(annotations).length === 0) delete (item.metadata as Obj).annotations;
    return item;
  });
  assert.deepEqual(theirs, (JSON.parse(json.stdout) as { items: Obj[] }).items);
});

test('aliases: 100 are fine, a billion laughs is refused with a clear message', () => {
  const many = scratchFile('aliases.yaml', `x-base: &b {name: app, image: registry.example/app:1}\n${pod('many').replace('  containers:\n  - name: app\n    image: registry.example/app:1\n', '  containers:\n  - *b\n')}x-list:\n${'- *b\n'.repeat(100)}`);
  const ok = runPillion(['inject', '-f', many]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /^injected Pod\/default\/many /m);
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (const [prev, name] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg', 'gh', 'hi']) levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  const bomb = scratchFile('laughs.yaml', `${pod('bomb')}---\n${levels.join('\n')}\n`);
  const refused = runPillion(['inject', '-f', bomb]);
  assert.equal(refused.status, 1);
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, /laughs\.yaml: document 2 \(line \d+\): document contains excessive aliasing: .*billion laughs/);
});

test('an explicit key whose value has no `:` is refused, as by kubectl, not read with its value dropped', () => {
  // The yaml library alone reads this pod without its containers, silently; kubectl refuses it.
  const file = scratchFile('explicit-key.yaml', `${pod('fine')}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: dropped\nspec:\n  ? containers\n  - name: app\n    image: registry.example/app:1\n`);
  const run = runPillion(['inject', '-f', file]);
  assert.equal(run.status, 1);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /explicit-key\.yaml: document 2 \(line \d+\): a `\? key` entry has a value on the next lines without `:` before it; kubectl refuses this document/);
});

test('a root anchor or tag is written once; CRLF stays CRLF; JSON stays JSON', () => {
  for (const props of ['!!map', '&root', '&root !!map']) {
    const run = runPillion(['inject', '-f', '-'], `# lead\n--- ${props}\n${pod('rooted')}`);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.stdout.startsWith(`# lead\n--- ${props}\napiVersion: v1\n`), run.stdout.slice(0, 80));
    for (const prop of props.split(' ')) assert.equal(run.stdout.split(prop).length, 2, `${prop} once`);
    assert.ok(names(get(readOutput(run.stdout)[0], 'spec', 'containers')).includes('pillion-proxy'));
  }

  const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c   # kept\ndata: {on: "yes"}\n';
  const crlf = (text: string): string => text.replace(/\n/g, '\r\n');
  const run = runPillion(['inject', '-f', '-'], crlf(`${configMap}---\n${pod('windows')}`));
  assert.equal(run.status, 0, run.stderr);
  assert.ok(run.stdout.startsWith(crlf(`${configMap}---\n`)), 'untouched CRLF bytes kept');
  assert.doesNotMatch(run.stdout, /[^\r]\n/, 'every line of the injected document ends in CRLF');
  assert.deepEqual(get(readOutput(run.stdout)[0], 'data'), { true: 'yes' });

  const jsonPod = {
    apiVersion: 'v1',
    kind: 'Pod',
    // A JSON manifest is read by kubectl's JSON decoder: U+2028 and U+0085 are characters there.
    metadata: { name: 'from-json', labels: { enabled: 'yes', mode: '0400', empty: '~' }, annotations: { text: 'a\u2028b\u0085c' } },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }], volumes: [{ name: 's', secret: { secretName: 's', defaultMode: 256 } }] },
  };
  for (const [name, text] of [['pod.json', `${JSON.stringify(jsonPod, null, 4)}\n`], ['one-line.json', JSON.stringify(jsonPod)]] as const) {
    const out = runPillion(['inject', '-f', scratchFile(name, text)]);
    assert.equal(out.status, 0, out.stderr);
    const parsed = JSON.parse(out.stdout) as Obj;
    assert.ok(names(get(parsed, 'spec', 'containers')).includes('pillion-proxy'), `${name}: JSON out`);
    assert.deepEqual(get(parsed, 'metadata', 'labels'), jsonPod.metadata.labels);
    assert.deepEqual(readOutput(out.stdout)[0], parsed, `${name}: kubectl reads the strings as strings`);
    if (name === 'pod.json') assert.match(out.stdout, /^ {4}"apiVersion": "v1",$/m, 'indentation followed');
    else assert.equal(out.stdout.includes('\n'), false, 'one line stays one line');
  }
});

test('input encodings: UTF-16 with a BOM is read; non-UTF-8, binary and control characters are refused clearly', () => {
  const text = pod('encoded');
  const utf8 = runPillion(['inject', '-f', scratchFile('utf8.yaml', text)]);
  assert.equal(utf8.status, 0, utf8.stderr);
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  const be = Buffer.from(le.map((_, i) => le[i ^ 1]!));
  for (const [name, bytes] of [['utf16le.yaml', le], ['utf16be.yaml', be]] as const) {
    const run = runPillion(['inject', '-f', scratchFile(name, bytes)]);
    assert.equal(run.status, 0, `${name}: ${run.stderr}`);
    assert.equal(run.stdout, utf8.stdout, `${name} gives the UTF-8 output`);
  }
  const refused: [string, Uint8Array, RegExp][] = [
    ['latin1.yaml', Buffer.from(`${text}  # caf\xe9\n`, 'latin1'), /latin1\.yaml: line 9: not UTF-8 text: byte 0xe9 at offset \d+; a manifest must be UTF-8, or UTF-16 starting with a byte order mark/],
    ['binary.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]), /binary\.yaml: line 1: contains NUL bytes: a binary file, or UTF-16 without a byte order mark/],
    ['utf16-no-bom.yaml', Buffer.from(text, 'utf16le'), /contains NUL bytes: a binary file, or UTF-16 without a byte order mark/],
    ['escape.yaml', Buffer.from(`${text}  # \x1b[31m\n`), /escape\.yaml: line 9: contains the control character U\+001B, which YAML does not allow/],
    // YAML 1.1's other line breaks: kubectl breaks lines there, the yaml library would not.
    ['nel.yaml', Buffer.from(text.replace('name: encoded', 'name: "a\u0085b"')), /nel\.yaml: line 4: contains U\+0085 \(NEL, next line\), which kubectl reads as a line break \(YAML 1\.1\) and Pillion would not; write it as \\N in a double-quoted string/],
    ['ls.yaml', Buffer.from(`${text}# \u2028x: 1\n`), /ls\.yaml: line 9: contains U\+2028 \(LS, line separator\), which kubectl reads as a line break/],
    ['ps.yaml', Buffer.from(text.replace('name: encoded', 'name: a\u2029b')), /ps\.yaml: line 4: contains U\+2029 \(PS, paragraph separator\).* write it as \\P in a double-quoted string/],
    // A byte order mark past the first character, at a line's start: kubectl drops it there.
    ['bom.yaml', Buffer.from(`${text}---\n\uFEFF${text}`), /bom\.yaml: line 10: has a byte order mark \(U\+FEFF\) at the start of a line: kubectl drops it at the start of a document/],
    ['bom2.yaml', Buffer.from(`\uFEFF\uFEFF${text}`), /bom2\.yaml: line 1: has a byte order mark/],
    // A file that starts with `{` is JSON for kubectl 1.32 and older (1.33 and later read it as
    // YAML where it is not JSON): YAML's escapes, quotes and plain words are refused.
    ['yaml.json', Buffer.from('{"apiVersion": "v1", "kind": "Pod",\n "metadata": {"name": "a\\x41"}}\n'), /yaml\.json: line 2: starts with `\{` and is not JSON \(Bad escaped character\): kubectl 1\.32 and older refuse it, 1\.33 and later read it as YAML; a line `---` before it has every kubectl read it as YAML/],
    ['flow.json', Buffer.from('{apiVersion: v1, kind: Pod, metadata: {name: a}}\n'), /flow\.json: line 1: starts with `\{` and is not JSON/],
    // A stream of JSON objects is read to its end; YAML after its first object, by 1.33 and later only.
    ['then-yaml.json', Buffer.from('{"kind": "Pod"}\n---\nkind: Pod\n'), /then-yaml\.json: line 2: holds a JSON object and then text that is not one \(it does not start with `\{`\): kubectl 1\.32 and older refuse it, 1\.33 and later read the rest as YAML/],
    ['third.json', Buffer.from('{"kind": "Pod"}\n{"kind": "Pod"}\n\n{"kind": "Pod",}\n'), /third\.json: line 4: is a stream of JSON objects, and the one at this line is not one \(Expected double-quoted property name\); kubectl refuses it too/],
  ];
  for (const [name, bytes, message] of refused) {
    const run = runPillion(['inject', '-f', scratchFile(name, bytes)]);
    assert.equal(run.status, 1, name);
    assert.equal(run.stdout, '', name);
    assert.match(run.stderr, message, name);
  }
});

test('a JSON manifest is read as kubectl reads JSON: `\\/` and surrogate pairs are escapes, a lone half is U+FFFD', () => {
  const text = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "json-escapes", "labels": {"slash": "a\\/b", "pair": "\\ud83d\\ude00", "half": "x\\ud800"}},\n "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}}\n';
  const run = runPillion(['inject', '-f', scratchFile('escapes.json', text)]);
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout) as Obj;
  assert.deepEqual(get(out, 'metadata', 'labels'), { slash: 'a/b', pair: '\u{1F600}', half: 'x\uFFFD' });
  assert.ok(names(get(out, 'spec', 'containers')).includes('pillion-proxy'));
});

test('inputs over 64 MiB are refused with a clear message, stdin too', () => {
  const big = Buffer.alloc(64 * 1024 * 1024 + 10, '#');
  big.fill('\n', big.length - 1);
  const file = scratchFile('big.yaml', big);
  const fromFile = runPillion(['inject', '-f', file]);
  assert.equal(fromFile.status, 1);
  assert.equal(fromFile.stdout, '');
  assert.match(fromFile.stderr, /big\.yaml: larger than 64 MiB, the limit for all -f inputs together; split the manifests over several runs/);
  const fromStdin = runPillion(['inject', '-f', '-'], big.toString('latin1'));
  assert.equal(fromStdin.status, 1);
  assert.match(fromStdin.stderr, /<stdin>: larger than 64 MiB/);
});

test('kubectl-style -o=json, -f=FILE, -n=NS and --report=json mean what the spaced forms mean', () => {
  const spaced = runPillion(['inject', '-f', cliFixture('list.yaml'), '-o', 'json', '-n', 'team', '--report', 'json']);
  const joined = runPillion(['inject', `-f=${cliFixture('list.yaml')}`, '-o=json', '-n=team', '--report=json']);
  assert.equal(joined.status, 0, joined.stderr);
  assert.equal(joined.stdout, spaced.stdout);
  assert.equal(joined.stderr, spaced.stderr);
  const bad = runPillion(['inject', '-f', cliFixture('list.yaml'), '-o=xml']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /Allowed choices are yaml, json/);
});

test('--report json: errors are JSON too', () => {
  const run = runPillion(['inject', '-f', cliFixture('bad-yaml.yaml'), '-f', cliFixture('no-template.yaml'), '--report', 'json']);
  assert.equal(run.status, 1);
  assert.equal(run.stdout, '');
  const { errors } = JSON.parse(run.stderr) as { errors: Obj[] };
  assert.ok(errors.length >= 2);
  assert.deepEqual(Object.keys(errors[0]!), ['file', 'document', 'line', 'message']);
  assert.equal(errors[0]!.file, cliFixture('bad-yaml.yaml'));
  assert.equal(errors.at(-1)!.document, 2);
  assert.match(String(errors.at(-1)!.message), /Deployment hollow has no pod template/);
  const setup = runPillion(['inject', '-f', cliFixture('list.yaml'), '--config', cliFixture('list.yaml'), '--report', 'json']);
  assert.equal(setup.status, 1);
  const setupErrors = (JSON.parse(setup.stderr) as { errors: Obj[] }).errors;
  assert.equal(setupErrors[0]!.file, null);
  assert.match(String(setupErrors[0]!.message), /unknown key "apiVersion"/);
});

test('a reader that closes the pipe early: exit 141, no stack trace', async () => {
  const manifest = Array.from({ length: 2000 }, (_, i) => pod(`p${i}`)).join('---\n');
  const child = spawn(process.execPath, [pillionBin, 'inject', '-f', scratchFile('many.yaml', manifest)], { cwd: repoRoot });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // Like `| head -1`: take the first chunk, then close our end.
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  assert.equal(status, 141, stderr);
  assert.doesNotMatch(stderr, /Error|EPIPE|at /);
  assert.match(stderr, /^injected Pod\/default\/p1999 /m, 'the report was complete');
});
