// A file kubectl reads with its JSON decoder may hold a stream of JSON objects (`{…}{…}`, one per
// line as `jq -c '.items[]'` writes them): every kubectl reads each object as a document. Pillion
// reads and writes such a stream document by document, each as the same object alone in a file
// would be; and it joins several inputs into one output that kubectl reads as it reads the inputs
// (the kubectl on PATH is asked: 1.32 here, which reads a file that starts with `{` as JSON only).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { flattenForJson, injectManifests, yamlReadableJson, type ManifestInput, type PipelineResult } from '../../../injector/cli/inject-manifest.js';
import { decodeManifest, startsAsJson } from '../../../injector/cli/input.js';
import { readJsonValues } from '../../../injector/cli/json-reader.js';
import { toKubeValue } from '../../../injector/cli/kube-yaml.js';
import { parseStream } from '../../../injector/cli/stream.js';
import { corpusFiles, requireSharedCorpusInCI } from '../../support/corpus.js';
import { requireKubectl } from '../../deploy/support/manifests.js';
import { inject } from './read-back.js';

/** An input as the CLI hands it on: the text decodeManifest gives, with the JSON values it read. */
function input(file: string, text: string): ManifestInput {
  const decoded = decodeManifest(Buffer.from(text, 'utf8'));
  assert.ok(decoded.ok, `${file}: ${decoded.ok ? '' : decoded.message}`);
  return { file, text: decoded.text, json: decoded.json };
}

const run = (inputs: readonly ManifestInput[], output: 'yaml' | 'json'): PipelineResult =>
  injectManifests(inputs, { mode: 'candidate', namespace: undefined, output }, inject);

function okOutput(result: PipelineResult, label: string): string {
  assert.ok(result.ok, `${label}: ${JSON.stringify(result.ok ? [] : result.problems)}`);
  return result.output;
}

/** The objects -o json lists for `result`'s inputs. */
const listed = (result: PipelineResult, label: string): unknown[] => (JSON.parse(okOutput(result, label)) as { items: unknown[] }).items;

/** The objects of an output as Pillion reads it again: decoded as the CLI does, Lists flattened as -o json flattens them. */
function readAgain(label: string, text: string): unknown[] {
  const again = input(label, text);
  const objects: unknown[] = [];
  for (const item of parseStream(label, again.text, again.json).documents) {
    const value = item.value ?? toKubeValue(item.doc);
    if (value !== null) flattenForJson(value, objects);
  }
  return objects;
}

test('readJsonValues: one value parsed at once; a stream value by value, braces in strings skipped; the first value that is not an object named', () => {
  assert.deepEqual(readJsonValues('{"a": 1}'), { ok: true, values: [{ start: 0, value: { a: 1 } }] });
  assert.deepEqual(readJsonValues('\uFEFF \n{"a": 1}\n'), { ok: true, values: [{ start: 3, value: { a: 1 } }] });
  assert.deepEqual(readJsonValues('{"a": "}{"}{"b": "\\"}"}\r\n\t{"c": [{}, "]"]}\n'), {
    ok: true,
    values: [
      { start: 0, value: { a: '}{' } },
      { start: 11, value: { b: '"}' } },
      { start: 26, value: { c: [{}, ']'] } },
    ],
  });
  assert.deepEqual(readJsonValues('{}\nnull\n{}'), { ok: true, values: [{ start: 0, value: {} }, { start: 3, value: null }, { start: 8, value: {} }] });
  const refused: [string, number, number, RegExp][] = [
    ['{a: 1}', 0, 1, /property name/],
    ['{"a": 1', 0, 7, /after property value/],
    ['{"a": 1}\n---\nkind: Pod\n', 1, 9, /does not start with `\{`/],
    ['{}\n[1]\n', 1, 3, /a JSON value but not an object/],
    ['{}\n---\n', 1, 3, /does not start with `\{`/],
    ['\u00A0{}', 0, 0, /U\+00A0 before the `\{` is not white space in JSON/],
    ['{}\nnullx\n', 2, 7, /does not start with `\{`/],
    ['{}\n{}\n{"a": }\n', 2, 6, /Unexpected token/],
  ];
  for (const [text, index, offset, reason] of refused) {
    const read = readJsonValues(text);
    assert.ok(!read.ok, text);
    assert.deepEqual({ index: read.index, offset: read.offset }, { index, offset }, text);
    assert.match(read.reason, reason, text);
    assert.doesNotMatch(read.reason, /position/, `${text}: the place is Pillion's line, not JSON.parse's offset in one value`);
  }
});

/** The objects of a YAML manifest. */
function objectsOf(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as unknown)
    .filter((value) => value !== null && typeof value === 'object' && !Array.isArray(value));
}

// How streams of objects are written: `jq -c` (one per line), pretty with 2 spaces, 4 spaces and
// CRLF, and values with nothing between them.
const layouts: Record<string, { readonly write: (value: unknown) => string; readonly between: string }> = {
  'jq -c': { write: (value) => JSON.stringify(value), between: '\n' },
  'pretty, 2 spaces': { write: (value) => JSON.stringify(value, null, 2), between: '\n' },
  '4 spaces, CRLF': { write: (value) => JSON.stringify(value, null, 4).replace(/\n/g, '\r\n'), between: '\r\n' },
  'nothing between': { write: (value) => JSON.stringify(value), between: '' },
};

test('every corpus object in one JSON stream: injected, reported and listed as each object alone in a file, written as a stream that reads back', () => {
  requireSharedCorpusInCI();
  const objects = corpusFiles()
    .filter((name) => /\.ya?ml$/.test(name))
    .flatMap(objectsOf);
  assert.ok(objects.length >= 50, `${objects.length} corpus objects`);
  for (const [layout, { write, between }] of Object.entries(layouts)) {
    const texts = objects.map((value, i) => write(value) + (i + 1 < objects.length ? between : '\n'));
    const stream = [input('stream.json', texts.join(''))];
    const alone = texts.map((text, i) => input(`object-${i + 1}.json`, text));
    assert.equal(parseStream('stream.json', stream[0]?.text ?? '', stream[0]?.json).documents.length, objects.length, `${layout}: a document per object`);
    const streamRun = run(stream, 'yaml');
    const aloneRun = run(alone, 'yaml');
    const output = okOutput(streamRun, layout);
    okOutput(aloneRun, `${layout}, each alone`);
    const decisions = (result: PipelineResult) => result.reports.map(({ file: _file, document: _document, ...decision }) => decision);
    assert.deepEqual(decisions(streamRun), decisions(aloneRun), `${layout}: the same decisions`);
    assert.ok(streamRun.reports.some((report) => report.decision === 'injected'), `${layout}: some workload injected`);
    // Each object's text in the output is what it is alone; files alone are joined by a line break
    // where one does not end with one.
    if (between.endsWith('\n')) assert.equal(output, okOutput(aloneRun, layout), `${layout}: the stream's output is the objects' outputs one after another`);
    const items = listed(run(stream, 'json'), layout);
    assert.deepEqual(items, listed(run(alone, 'json'), layout), `${layout}: -o json`);
    assert.deepEqual(readAgain(layout, output), items, `${layout}: the output reads back as the injected objects`);
  }
});

const deployment = (name: string, extra = '', podMetadata = ''): string =>
  `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "${name}"${extra}},\n "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "a"}${podMetadata}}, "spec": {"containers": [{"name": "a", "image": "nginx"}]}}}}\n`;

test('a stream value that JSON.parse would misread is read by the yaml library on its own, its integer past 2^53 kept; a problem names its document and line', () => {
  const text = deployment('one') + deployment('big', ', "generation": 9007199254740993') + deployment('three');
  const documents = parseStream('s.json', text, input('s.json', text).json).documents;
  assert.deepEqual(
    documents.map((item) => item.value === undefined),
    [false, true, false],
  );
  const output = okOutput(run([input('s.json', text)], 'yaml'), 'big');
  assert.match(output, /"generation": ?9007199254740993\b/);
  assert.equal(output.match(/"name": ?"pillion-proxy"/g)?.length, 3);
  const bad = deployment('one') + deployment('two') + deployment('three', '', ',\n "annotations": {"pillion.dev/inject": "maybe"}');
  const result = run([input('bad.json', bad)], 'yaml');
  assert.ok(!result.ok);
  assert.deepEqual(
    result.problems.map(({ message: _message, ...place }) => place),
    [{ file: 'bad.json', document: 3, line: 7 }],
  );
});

test('yamlReadableJson: on one line; what YAML lacks (\\/, surrogate pairs as escapes, half a pair) and the characters YAML 1.1 breaks lines at, written so that YAML reads what JSON reads', () => {
  const json = '{"a": "x\\/y \\\\/ \\ud83d\\ude00 \\ud800! \\udc00 \\u00e9 \\" \\\\ \u2028 \u0085 \u2029"}';
  const yaml = yamlReadableJson(json);
  assert.equal(yaml, '{"a":"x/y \\\\/ \u{1F600} \\ufffd! \\ufffd \\u00e9 \\" \\\\ \\u2028 \\u0085 \\u2029"}\n');
  const read = parseStream('y.yaml', `---\n${yaml}`).documents[0];
  assert.ok(read !== undefined);
  assert.deepEqual(read.doc.errors, []);
  // Go's JSON decoder reads half a surrogate pair as U+FFFD.
  assert.deepEqual(toKubeValue(read.doc), { a: 'x/y \\/ \u{1F600} \uFFFD! \uFFFD \u00e9 " \\ \u2028 \u0085 \u2029' });
});

/** The objects kubectl reads from `file`, each given the label x=y on the way (`kubectl label --local` reads without a cluster). */
function readByKubectl(kubectl: string, file: string): unknown[] {
  // One JSON object after another, one per object read.
  const printed = readJsonValues(execFileSync(kubectl, ['label', '--local', '-f', file, 'x=y', '-o', 'json'], { encoding: 'utf8' }));
  assert.ok(printed.ok, `kubectl's output for ${file}`);
  return printed.values.map((item) => item.value);
}

function labelled(objects: readonly unknown[]): unknown[] {
  return objects.map((object) => {
    const copy = structuredClone(object) as { metadata: { labels?: Record<string, string> } };
    copy.metadata.labels = { ...copy.metadata.labels, x: 'y' };
    return copy;
  });
}

const pod = (name: string, annotation: string): string =>
  `{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  "metadata": {"name": "${name}", "annotations": {"note": "${annotation}"}},\n  "spec": {"containers": [{"name": "a", "image": "nginx", "ports": [{"containerPort": 8080}]}]}\n}\n`;

test('several inputs, one output that kubectl reads as the injected objects: JSON files alone as one JSON stream; with YAML, a YAML stream of which their objects are documents', (t: TestContext) => {
  const kubectl = requireKubectl(t);
  if (kubectl === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'pillion-json-stream-'));
  try {
    // What YAML reads otherwise than JSON: `\/`, escaped surrogate pairs, half of one, U+2028; and
    // a `null` between objects, which kubectl skips. Layout go-yaml would stop at: a tab starting a
    // line outside the object, a line break between a key and its colon, CR line breaks.
    const first = `\uFEFF${pod('slash', 'http:\\/\\/x \\ud83d\\ude00')}null\n${pod('half', 'a\\ud800b \u2028')}\t\n`;
    // DEL, C1 and U+FFFE: JSON and kubectl's JSON decoder take them raw, YAML does not.
    const second = `\t${pod('second', 'plain \u007F\u0080\uFFFE').replace('"note":', '"note"\n:').replace(/\n/g, '\r')}`;
    const yaml = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: yaml\n  annotations: {note: "yes"}\nspec:\n  containers: [{name: a, image: nginx}]\n';
    const cases: Record<string, ManifestInput[]> = {
      'two JSON files': [input('first.json', first), input('second.json', second)],
      'JSON first, then YAML': [input('first.json', first), input('pod.yaml', yaml), input('second.json', second)],
      'YAML first, then JSON': [input('pod.yaml', yaml), input('first.json', first)],
    };
    for (const [label, inputs] of Object.entries(cases)) {
      const output = okOutput(run(inputs, 'yaml'), label);
      const items = listed(run(inputs, 'json'), label);
      assert.equal(items.length, inputs.length + (inputs.some((i) => i.file === 'first.json') ? 1 : 0), label);
      const file = join(dir, `${label.replace(/\W+/g, '-')}.out`);
      writeFileSync(file, output);
      assert.deepEqual(readByKubectl(kubectl, file), labelled(items), `${label}: kubectl reads the output as the injected objects:\n${output}`);
      assert.deepEqual(readAgain(label, output), items, `${label}: Pillion reads its output as the injected objects`);
      assert.equal(startsAsJson(output), label === 'two JSON files', `${label}: a JSON stream only of JSON files`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a JSON file among YAML files whose key is longer than go-yaml takes in a YAML stream: a problem naming the file and document, nothing written', () => {
  const long = `{"apiVersion": "example.com/v1", "kind": "Foo", "metadata": {"name": "long"}, "spec": {"${'k'.repeat(1100)}": 1}}\n`;
  const result = run([input('long.json', long), input('pod.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n')], 'yaml');
  assert.ok(!result.ok);
  assert.deepEqual(result.problems, [
    { file: 'long.json', document: 1, line: undefined, message: "has a key of 1100 characters, longer than kubectl's YAML reading takes in a YAML stream; give this JSON file to pillion inject without YAML files" },
  ]);
  // Alone, the file is written as JSON, which takes keys of any length.
  assert.ok(run([input('long.json', long)], 'yaml').ok);
});

test('a float -0 in an object the yaml library reads is written -0.0 (what kubectl reads as -0), and a JSON file stays JSON', () => {
  const text = `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "z"}, "spec": {"x": {"a": -0.0}, "containers": [{"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]}]}}\n`;
  const output = okOutput(run([input('z.json', text)], 'yaml'), 'z');
  assert.match(output, /"a":-0\.0\b/);
  assert.match(output, /"name":"pillion-proxy"/);
  const again = readJsonValues(output);
  assert.ok(again.ok, 'the output is JSON');
  assert.equal(again.values.length, 1);
});
